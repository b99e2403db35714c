/**
 * @tsmesh/dataplane: the Envoy-compatible proxy engine. Configure a `Dataplane` with Envoy v3
 * resources (Listener, RouteConfiguration, Cluster, ClusterLoadAssignment, Secret).
 */
export { Dataplane, type DataplaneOptions } from './engine/dataplane';
export { dataplaneErrors } from './engine/errors';
export { TYPE_URLS, emptySnapshot, wrapped, enumName, socketAddress, type Msg, type Snapshot } from './engine/types';
export type { ClusterStatus, HostStatus, ListenerStatus } from './engine/status';

export { StatsStore, Counter, Gauge, Histogram, DEFAULT_BUCKETS, type StatTags } from './stats/store';
export { renderStatsText, renderPrometheus } from './stats/render';

export {
  FilterRegistry,
  type HttpFilter,
  type HttpFilterFactory,
  type HttpStreamContext,
  type FilterFactoryContext,
  type FilterResult,
  type LocalReply,
  type DownstreamConnection,
  type ResponseHeadersView,
} from './filters/types';
export { registerBuiltinFilters } from './filters/builtin';
export type { NetworkConnection, NetworkFilter, NetworkFilterFactory } from './filters/network/types';
export { tcpMixerFilterWith, TCP_MIXER_TYPE_URL, type TcpMixerConfig } from './filters/network/mixer';
export { faultFilter, FAULT_TYPE_URL, type FaultConfig } from './filters/http/fault';
export { corsFilter, CORS_TYPE_URL, CORS_POLICY_TYPE_URL, type CorsPolicy } from './filters/http/cors';
export { routerFilter, ROUTER_TYPE_URL } from './filters/http/router';

export { formatResponseFlags, type ResponseFlag, type StreamInfo, type StreamCompleteHook } from './http/stream-info';
export {
  compileStringMatcher,
  compileHeaderMatcher,
  compileQueryMatcher,
  compileRegex,
  type StringPredicate,
  type HeaderGetter,
} from './http/matchers';
export { normalizePath, type PathOptions } from './http/path';
export { httpToGrpcStatus, grpcToHttpStatus, parseGrpcTimeout, replyFor, LOCAL_REPLY_BODIES } from './http/local-reply';
export type { HeaderMap } from './http/header-ops';
export type { RouteEntry } from './http/route-table';

export {
  StaticCertificateProvider,
  type CertificateProvider,
  type TlsCertificate,
  type ValidationContext,
} from './tls/certificate-provider';
export { uriSans, readDataSource } from './tls/context';

export type { Cluster } from './upstream/cluster';
export type { Host } from './upstream/host';

// xDS client, admin API and process bootstrap (apps/proxy, apps/gateway).
export * from './xds-client';
export * from './admin';
export * from './bootstrap';
