/**
 * Defaults in one place. Values follow Istio 1.0 unless stated: the proto
 * comments in istio/api `networking/v1alpha3/destination_rule.proto`,
 * `virtual_service.proto` and `mesh/v1alpha1/config.proto`, and
 * `install/kubernetes/helm/istio/templates/configmap.yaml`.
 */

export const DEFAULT_DOMAIN = 'cluster.local';
export const DEFAULT_NAMESPACE = 'default';
export const ISTIO_SYSTEM_NAMESPACE = 'istio-system';
/** Reserved gateway name meaning "all sidecars in the mesh". */
export const MESH_GATEWAY = 'mesh';

/** DestinationRule connectionPool defaults (Envoy's circuit-breaker defaults, as the 1.0 proto documents). */
export const CONNECTION_POOL_DEFAULTS = {
  tcp: { maxConnections: 1024, connectTimeout: '10s' },
  http: { http1MaxPendingRequests: 1024, http2MaxRequests: 1024, maxRequestsPerConnection: 0, maxRetries: 3 },
} as const;

/** OutlierDetection defaults (1.0 proto: consecutiveErrors 5, interval 10s, baseEjectionTime 30s, maxEjectionPercent 10). */
export const OUTLIER_DETECTION_DEFAULTS = {
  consecutive5xxErrors: 5,
  interval: '10s',
  baseEjectionTime: '30s',
  maxEjectionPercent: 10,
  minHealthPercent: 0,
} as const;

/** HTTPRetry defaults. 1.0 hard-codes retry_on; attempts default 2 is the mesh-wide default of later Istio. */
export const RETRY_DEFAULTS = {
  attempts: 2,
  retryOn: '5xx,connect-failure,refused-stream',
  retryOn10: '5xx,connect-failure,refused-stream',
} as const;

/** Route timeout when a VirtualService sets none: 1.0 writes 0s (disabled), not Envoy's 15s. */
export const DEFAULT_ROUTE_TIMEOUT = '0s';

export const DEFAULT_LB = 'ROUND_ROBIN';

/** Envoy retry_on conditions Istio accepts in `retries.retryOn` (besides HTTP status codes). */
export const RETRY_ON_POLICIES = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;
