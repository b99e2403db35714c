/**
 * The bootstrap Istio's agent writes for Envoy (pilot-agent's `envoy-rev0.json`), generated from
 * flags: node id `<type>~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`, node metadata (NAMESPACE,
 * LABELS, INSTANCE_IPS, ISTIO_VERSION, SERVICE_ACCOUNT, POD_NAME, INTERCEPTION_MODE, …), the
 * admin address, a static `xds-grpc` cluster pointing at Pilot with ADS for LDS and CDS, and a
 * `zipkin` cluster plus tracing section when a collector is given.
 */
import type { Msg } from '../engine/types';
import { proxyErrors } from './bootstrap-errors';
import { withLabelsMetadata } from './node-metadata';

export const ISTIO_COMPAT_VERSION = '1.0.0';

export interface GenerateBootstrapOptions {
  nodeType: 'sidecar' | 'router';
  /** A full node id; when absent it is built from ip, podName and namespace. */
  serviceNode?: string;
  ip?: string;
  podName?: string;
  namespace?: string;
  serviceCluster: string;
  labels?: Record<string, string>;
  serviceAccount?: string;
  /** `host:port` of Pilot's gRPC xDS port. */
  discoveryAddress: string;
  adminAddress: string;
  zipkinAddress?: string;
  /** Per-proxy explicit HTTP proxy port (Pilot builds `127.0.0.1_<port>` from it). */
  httpProxyPort?: number;
  extraMetadata?: Record<string, unknown>;
  connectTimeoutMs?: number;
}

export interface ParsedNodeId {
  type: string;
  ip: string;
  podName: string;
  namespace: string;
  domain: string;
}

/** Splits an Istio node id; throws PROXY_ERR_BAD_SERVICE_NODE. */
export function parseNodeId(id: string): ParsedNodeId {
  const parts = id.split('~');
  const bad = (why: string) => proxyErrors.error('PROXY_ERR_BAD_SERVICE_NODE', { value: id, why });
  if (parts.length !== 4) throw bad('expected 4 parts separated by ~');
  const [type, ip, podId, domain] = parts;
  if (type !== 'sidecar' && type !== 'router') throw bad(`unknown proxy type ${type} (sidecar or router)`);
  const dot = podId.indexOf('.');
  const podName = dot >= 0 ? podId.slice(0, dot) : podId;
  const namespace = dot >= 0 ? podId.slice(dot + 1) : domain.split('.')[0] || 'default';
  return { type, ip, podName, namespace, domain };
}

function splitHostPort(value: string, setting: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value.trim());
  if (!m || Number(m[2]) > 65535) throw proxyErrors.error('PROXY_ERR_BAD_ADDRESS', { value, setting });
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
}

const isIp = (h: string) => /^\d+\.\d+\.\d+\.\d+$/.test(h) || h.includes(':');

function staticCluster(name: string, address: string, setting: string, http2: boolean, timeoutMs: number): Msg {
  const { host, port } = splitHostPort(address, setting);
  const cluster: Msg = {
    name,
    type: isIp(host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: { seconds: Math.floor(timeoutMs / 1000), nanos: (timeoutMs % 1000) * 1e6 },
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        { lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] },
      ],
    },
  };
  if (http2) cluster['http2_protocol_options'] = {};
  return cluster;
}

export function generateBootstrap(o: GenerateBootstrapOptions): Msg {
  const namespace = o.namespace || 'default';
  const id =
    o.serviceNode ||
    `${o.nodeType}~${o.ip || '127.0.0.1'}~${o.podName || o.serviceCluster}.${namespace}~${namespace}.svc.cluster.local`;
  const parsed = parseNodeId(id);
  const metadata = withLabelsMetadata(
    {
      ISTIO_VERSION: ISTIO_COMPAT_VERSION,
      ISTIO_PROXY_VERSION: ISTIO_COMPAT_VERSION,
      // A given node id is the identity: its ip, pod and namespace win over the separate flags.
      NAMESPACE: parsed.namespace,
      POD_NAME: parsed.podName,
      INSTANCE_IPS: parsed.ip,
      INTERCEPTION_MODE: 'REDIRECT',
      CLUSTER_ID: 'Kubernetes',
      istio: o.nodeType === 'router' ? 'ingressgateway' : 'sidecar',
      ...(o.serviceAccount ? { SERVICE_ACCOUNT: o.serviceAccount } : {}),
      ...(o.httpProxyPort ? { HTTP_PROXY_PORT: String(o.httpProxyPort) } : {}),
      ...(o.extraMetadata ?? {}),
    },
    o.labels,
  );
  const admin = splitHostPort(o.adminAddress, '--admin-address');
  const timeout = o.connectTimeoutMs ?? 10_000;
  const clusters = [staticCluster('xds-grpc', o.discoveryAddress, '--discovery-address', true, timeout)];
  const bootstrap: Msg = {
    node: { id, cluster: o.serviceCluster, metadata, locality: {} },
    admin: { address: { socket_address: { address: admin.host, port_value: admin.port } } },
    static_resources: { clusters, listeners: [] },
    dynamic_resources: {
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }],
      },
    },
  };
  if (o.zipkinAddress) {
    clusters.push(staticCluster('zipkin', o.zipkinAddress, '--zipkin-address', false, timeout));
    bootstrap['tracing'] = {
      http: {
        name: 'envoy.tracers.zipkin',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig',
          collector_cluster: 'zipkin',
          collector_endpoint: '/api/v2/spans',
          collector_endpoint_version: 'HTTP_JSON',
          trace_id_128bit: true,
          shared_span_context: { value: false },
        },
      },
    };
  }
  return bootstrap;
}
