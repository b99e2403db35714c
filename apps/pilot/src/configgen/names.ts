/**
 * Istio's names, byte for byte (Istio 1.0 `pilot/pkg/model/service.go`
 * BuildSubsetKey, `listener.go`, `httproute.go`), and Envoy v3 type URLs.
 */

/** A generated Envoy v3 message in its object form (snake_case; Any as `{ '@type', ... }`). */
export type Msg = Record<string, unknown>;

export const TYPE = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;

export type XdsType = (typeof TYPE)[keyof typeof TYPE];

export const FILTER_TYPE = {
  hcm: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  tcpProxy: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  fault: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
  cors: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors',
  corsPolicy: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
  upstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  downstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  originalDst: 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
  tlsInspector: 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
} as const;

export const FILTER_NAME = {
  hcm: 'envoy.filters.network.http_connection_manager',
  tcpProxy: 'envoy.filters.network.tcp_proxy',
  router: 'envoy.filters.http.router',
  fault: 'envoy.filters.http.fault',
  cors: 'envoy.filters.http.cors',
  rbac: 'envoy.filters.http.rbac',
  jwt: 'envoy.filters.http.jwt_authn',
  tls: 'envoy.transport_sockets.tls',
} as const;

export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';

/** `outbound|9080|v1|reviews.default.svc.cluster.local` (empty subset for the default cluster). */
export function outboundClusterName(port: number, subset: string, host: string): string {
  return `outbound|${port}|${subset}|${host}`;
}

/** `inbound|9080||reviews.default.svc.cluster.local`. */
export function inboundClusterName(port: number, host: string): string {
  return `inbound|${port}||${host}`;
}

export function parseClusterName(
  name: string,
): { direction: 'inbound' | 'outbound'; port: number; subset: string; host: string } | undefined {
  const p = name.split('|');
  if (p.length !== 4 || (p[0] !== 'inbound' && p[0] !== 'outbound')) return undefined;
  return { direction: p[0], port: Number(p[1]), subset: p[2], host: p[3] };
}

/** Listener names: `0.0.0.0_9080`, `10.0.0.5_9080`. */
export function listenerName(ip: string, port: number): string {
  return `${ip}_${port}`;
}

/** Duration in the object form protobufjs accepts. */
export function dur(ms: number): Msg {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** google.protobuf wrapper (UInt32Value, BoolValue, ...) in the object form. */
export function wrap<T>(value: T): { value: T } {
  return { value };
}

export function socketAddress(address: string, port: number): Msg {
  return { socket_address: { address, port_value: port } };
}
