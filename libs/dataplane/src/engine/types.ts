/**
 * The shapes the engine reads. Resources are Envoy v3 messages in the JS form `@tsmesh/protocol`
 * produces (protobufjs objects, snake_case field names, Any expanded in place with `@type`,
 * Durations as `{seconds, nanos}` or `"1.5s"`, wrappers as `{value}`), so plain objects parsed
 * from Envoy YAML work too.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = Record<string, any>;

export const TYPE_URLS = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  hcm: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  tcpProxy: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  upstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  downstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  httpProtocolOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
} as const;

/** One complete configuration, as the xDS client or a bootstrap file assembles it. */
export interface Snapshot {
  listeners: Msg[];
  routes: Msg[];
  clusters: Msg[];
  endpoints: Msg[];
  secrets: Msg[];
}

export function emptySnapshot(): Snapshot {
  return { listeners: [], routes: [], clusters: [], endpoints: [], secrets: [] };
}

/** Reads a protobuf wrapper (`{value: 3}`) or a bare value. */
export function wrapped(v: unknown, fallback: boolean): boolean;
export function wrapped(v: unknown, fallback: number): number;
export function wrapped(v: unknown, fallback: string): string;
export function wrapped<T>(v: unknown, fallback: T): T;
export function wrapped<T>(v: unknown, fallback: T): T {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'object' && !Array.isArray(v)) {
    // A present wrapper whose value is the proto3 default is encoded without `value`.
    const inner = (v as { value?: T }).value;
    if (inner !== undefined && inner !== null) return inner;
    return (
      typeof fallback === 'boolean'
        ? false
        : typeof fallback === 'number'
          ? 0
          : typeof fallback === 'string'
            ? ''
            : fallback
    ) as T;
  }
  return v as T;
}

/** Enum as a name, whether protobufjs gave the number or the string. */
export function enumName(v: unknown, names: readonly string[], fallback: string): string {
  if (typeof v === 'number') return names[v] ?? fallback;
  if (typeof v === 'string' && v !== '') return v;
  return fallback;
}

/** `socket_address` of an Envoy Address as `{host, port}`. */
export function socketAddress(addr: Msg | undefined): { host: string; port: number } | null {
  const sa = addr?.['socket_address'];
  if (!sa) return null;
  return { host: String(sa.address ?? ''), port: Number(sa.port_value ?? 0) };
}
