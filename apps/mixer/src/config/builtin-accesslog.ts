/**
 * Istio 1.0's default access log (helm mixer config: `logentry accesslog` and
 * `tcpaccesslog` → `stdio handler` with `outputAsJson: true`, rules `stdio` and
 * `stdiotcp`): one JSON line per reported request on Mixer's stdout.
 */
export const BUILTIN_ACCESS_LOG_YAML = `
apiVersion: config.istio.io/v1alpha2
kind: logentry
metadata: { name: accesslog, namespace: istio-system }
spec:
  severity: '"Info"'
  timestamp: 'request.time | context.time | timestamp("1970-01-01T00:00:00Z")'
  variables:
    sourceIp: 'source.ip | ip("0.0.0.0")'
    sourceApp: 'source.labels["app"] | ""'
    sourcePrincipal: 'source.principal | ""'
    sourceName: 'source.name | ""'
    sourceWorkload: 'source.workload.name | ""'
    sourceNamespace: 'source.namespace | ""'
    destinationApp: 'destination.labels["app"] | ""'
    destinationIp: 'destination.ip | ip("0.0.0.0")'
    destinationServiceHost: 'destination.service.host | ""'
    destinationWorkload: 'destination.workload.name | ""'
    destinationNamespace: 'destination.namespace | ""'
    destinationPrincipal: 'destination.principal | ""'
    apiKey: 'request.api_key | request.headers["x-api-key"] | ""'
    protocol: 'request.scheme | context.protocol | "http"'
    method: 'request.method | ""'
    url: 'request.path | ""'
    responseCode: 'response.code | 0'
    responseSize: 'response.size | 0'
    requestSize: 'request.size | 0'
    requestId: 'request.headers["x-request-id"] | ""'
    clientTraceId: 'request.headers["x-client-trace-id"] | ""'
    latency: 'response.duration | "0ms"'
    userAgent: 'request.useragent | ""'
    receivedBytes: 'request.total_size | 0'
    sentBytes: 'response.total_size | 0'
    referer: 'request.referer | ""'
    httpAuthority: 'request.headers[":authority"] | request.host | ""'
    xForwardedFor: 'request.headers["x-forwarded-for"] | "0.0.0.0"'
    reporter: 'conditional((context.reporter.kind | "inbound") == "outbound", "source", "destination")'
  monitored_resource_type: '"global"'
---
apiVersion: config.istio.io/v1alpha2
kind: logentry
metadata: { name: tcpaccesslog, namespace: istio-system }
spec:
  severity: '"Info"'
  timestamp: 'context.time | timestamp("1970-01-01T00:00:00Z")'
  variables:
    connectionEvent: 'connection.event | ""'
    sourceIp: 'source.ip | ip("0.0.0.0")'
    sourceWorkload: 'source.workload.name | ""'
    destinationIp: 'destination.ip | ip("0.0.0.0")'
    destinationServiceHost: 'destination.service.host | ""'
    destinationWorkload: 'destination.workload.name | ""'
    protocol: 'context.protocol | "tcp"'
    connectionDuration: 'connection.duration | "0ms"'
    receivedBytes: 'connection.received.bytes | 0'
    sentBytes: 'connection.sent.bytes | 0'
    totalReceivedBytes: 'connection.received.bytes_total | 0'
    totalSentBytes: 'connection.sent.bytes_total | 0'
    reporter: 'conditional((context.reporter.kind | "inbound") == "outbound", "source", "destination")'
  monitored_resource_type: '"global"'
---
apiVersion: config.istio.io/v1alpha2
kind: stdio
metadata: { name: handler, namespace: istio-system }
spec:
  outputAsJson: true
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: stdio, namespace: istio-system }
spec:
  match: 'context.protocol == "http" || context.protocol == "grpc"'
  actions:
  - handler: handler.stdio
    instances: [ accesslog.logentry ]
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: stdiotcp, namespace: istio-system }
spec:
  match: 'context.protocol == "tcp"'
  actions:
  - handler: handler.stdio
    instances: [ tcpaccesslog.logentry ]
`;
