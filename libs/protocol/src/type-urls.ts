/** Prefix of every type URL Envoy uses in `Any.type_url` and `DiscoveryRequest.type_url`. */
export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** `type.googleapis.com/<full name>` for a proto full name. */
export function typeUrlOf(fullName: string): string {
  return TYPE_URL_PREFIX + fullName.replace(/^\./, '');
}

/** Full proto name from a type URL (everything after the last `/`), as Any resolution does. */
export function typeNameOf(typeUrl: string): string {
  const slash = typeUrl.lastIndexOf('/');
  return slash >= 0 ? typeUrl.slice(slash + 1) : typeUrl;
}

/**
 * Type URLs of the xDS resources and of the extension configs tsmesh uses
 * (Envoy v3 names; Istio's for the Mixer filter).
 */
export const TypeUrl = {
  // xDS resource types (DiscoveryRequest.type_url).
  LISTENER: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  ROUTE: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  SCOPED_ROUTE: 'type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration',
  VIRTUAL_HOST: 'type.googleapis.com/envoy.config.route.v3.VirtualHost',
  CLUSTER: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ENDPOINT: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  SECRET: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  RUNTIME: 'type.googleapis.com/envoy.service.runtime.v3.Runtime',
  BOOTSTRAP: 'type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap',

  // Network filters.
  HTTP_CONNECTION_MANAGER:
    'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  TCP_PROXY: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  NETWORK_RBAC: 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',

  // HTTP filters.
  ROUTER: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  FAULT: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
  CORS: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors',
  CORS_POLICY: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
  RBAC: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  RBAC_PER_ROUTE: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute',
  JWT_AUTHN: 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
  HEALTH_CHECK: 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck',
  LOCAL_RATE_LIMIT: 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
  EXT_AUTHZ: 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
  GRPC_WEB: 'type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb',
  /** Istio 1.0's Mixer filter config (Envoy filter name `mixer`). */
  MIXER_HTTP_CLIENT_CONFIG: 'type.googleapis.com/istio.mixer.v1.config.client.HttpClientConfig',
  MIXER_SERVICE_CONFIG: 'type.googleapis.com/istio.mixer.v1.config.client.ServiceConfig',
  MIXER_TCP_CLIENT_CONFIG: 'type.googleapis.com/istio.mixer.v1.config.client.TcpClientConfig',

  // Listener filters.
  TLS_INSPECTOR: 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  ORIGINAL_DST: 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
  HTTP_INSPECTOR: 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',

  // Transport sockets.
  UPSTREAM_TLS_CONTEXT: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  DOWNSTREAM_TLS_CONTEXT: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  RAW_BUFFER: 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer',

  // Access loggers, upstream options, tracing.
  FILE_ACCESS_LOG: 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
  STDOUT_ACCESS_LOG: 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
  HTTP_PROTOCOL_OPTIONS: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  ZIPKIN: 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig',
  PREVIOUS_HOSTS: 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
  TYPED_STRUCT: 'type.googleapis.com/xds.type.v3.TypedStruct',
  UDPA_TYPED_STRUCT: 'type.googleapis.com/udpa.type.v1.TypedStruct',

  // Admin API (/config_dump and friends).
  CONFIG_DUMP: 'type.googleapis.com/envoy.admin.v3.ConfigDump',
  BOOTSTRAP_CONFIG_DUMP: 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump',
  LISTENERS_CONFIG_DUMP: 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
  CLUSTERS_CONFIG_DUMP: 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
  ROUTES_CONFIG_DUMP: 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
  ENDPOINTS_CONFIG_DUMP: 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump',
  SECRETS_CONFIG_DUMP: 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump',

  // Istio-side messages.
  MIXER_CHECK_REQUEST: 'type.googleapis.com/istio.mixer.v1.CheckRequest',
  MIXER_REPORT_REQUEST: 'type.googleapis.com/istio.mixer.v1.ReportRequest',
} as const;

export type TypeUrlName = keyof typeof TypeUrl;
