/**
 * Istio 1.0's default telemetry config (helm `charts/mixer/templates/config.yaml`):
 * the six standard metric instances, the prometheus handler and the promhttp /
 * promtcp rules. Loaded before --config-dir unless --no-builtin-config.
 *
 * Each metric's dimensions are written once; the prometheus handler's
 * `label_names` are derived from them, so instance and handler cannot drift.
 */

const REPORTER = `conditional((context.reporter.kind | "inbound") == "outbound", "source", "destination")`;
const SECURITY_POLICY = `conditional((context.reporter.kind | "inbound") == "outbound", "unknown", conditional(connection.mtls | false, "mutual_tls", "none"))`;

/** Dimensions of the four HTTP metrics (requestcount, requestduration, requestsize, responsesize). */
const HTTP_DIMENSIONS: Readonly<Record<string, string>> = {
  reporter: REPORTER,
  source_app: 'source.labels["app"] | "unknown"',
  source_principal: 'source.principal | "unknown"',
  source_workload: 'source.workload.name | "unknown"',
  source_workload_namespace: 'source.workload.namespace | "unknown"',
  source_version: 'source.labels["version"] | "unknown"',
  destination_app: 'destination.labels["app"] | "unknown"',
  destination_principal: 'destination.principal | "unknown"',
  destination_workload: 'destination.workload.name | "unknown"',
  destination_workload_namespace: 'destination.workload.namespace | "unknown"',
  destination_version: 'destination.labels["version"] | "unknown"',
  destination_service: 'destination.service.host | "unknown"',
  destination_service_name: 'destination.service.name | "unknown"',
  destination_service_namespace: 'destination.service.namespace | "unknown"',
  request_protocol: 'api.protocol | context.protocol | "unknown"',
  response_code: 'response.code | 200',
  connection_security_policy: SECURITY_POLICY,
};

/** The TCP metrics have no protocol or response code, and Istio 1.0 filled destination_service from the name. */
const TCP_DIMENSIONS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries({ ...HTTP_DIMENSIONS, destination_service: 'destination.service.name | "unknown"' }).filter(
    ([label]) => label !== 'request_protocol' && label !== 'response_code',
  ),
);

function metricInstance(name: string, value: string, dimensions: Readonly<Record<string, string>>): string {
  const dims = Object.entries(dimensions).map(([label, expr]) => `    ${label}: '${expr}'`);
  return `apiVersion: config.istio.io/v1alpha2
kind: metric
metadata:
  name: ${name}
  namespace: istio-system
spec:
  value: '${value}'
  dimensions:
${dims.join('\n')}
  monitored_resource_type: '"UNSPECIFIED"'`;
}

function prometheusMetric(
  name: string,
  instance: string,
  kind: 'COUNTER' | 'DISTRIBUTION',
  dimensions: Readonly<Record<string, string>>,
  buckets = '',
): string {
  const labels = Object.keys(dimensions).map((label) => `    - ${label}`);
  return `  - name: ${name}
    instance_name: ${instance}.metric.istio-system
    kind: ${kind}
    label_names:
${labels.join('\n')}${buckets}`;
}

const DURATION_BUCKETS = `
    buckets:
      explicit_buckets:
        bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]`;
const SIZE_BUCKETS = `
    buckets:
      exponentialBuckets:
        numFiniteBuckets: 8
        scale: 1
        growthFactor: 10`;

export const BUILTIN_CONFIG_YAML = [
  metricInstance('requestcount', '1', HTTP_DIMENSIONS),
  metricInstance('requestduration', 'response.duration | "0ms"', HTTP_DIMENSIONS),
  metricInstance('requestsize', 'request.size | 0', HTTP_DIMENSIONS),
  metricInstance('responsesize', 'response.size | 0', HTTP_DIMENSIONS),
  metricInstance('tcpbytesent', 'connection.sent.bytes | 0', TCP_DIMENSIONS),
  metricInstance('tcpbytereceived', 'connection.received.bytes | 0', TCP_DIMENSIONS),
  `apiVersion: config.istio.io/v1alpha2
kind: prometheus
metadata:
  name: handler
  namespace: istio-system
spec:
  metrics:
${[
  prometheusMetric('requests_total', 'requestcount', 'COUNTER', HTTP_DIMENSIONS),
  prometheusMetric('request_duration_seconds', 'requestduration', 'DISTRIBUTION', HTTP_DIMENSIONS, DURATION_BUCKETS),
  prometheusMetric('request_bytes', 'requestsize', 'DISTRIBUTION', HTTP_DIMENSIONS, SIZE_BUCKETS),
  prometheusMetric('response_bytes', 'responsesize', 'DISTRIBUTION', HTTP_DIMENSIONS, SIZE_BUCKETS),
  prometheusMetric('tcp_sent_bytes_total', 'tcpbytesent', 'COUNTER', TCP_DIMENSIONS),
  prometheusMetric('tcp_received_bytes_total', 'tcpbytereceived', 'COUNTER', TCP_DIMENSIONS),
].join('\n')}`,
  `apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: promhttp
  namespace: istio-system
spec:
  match: 'context.protocol == "http" || context.protocol == "grpc"'
  actions:
  - handler: handler.prometheus
    instances:
    - requestcount.metric
    - requestduration.metric
    - requestsize.metric
    - responsesize.metric`,
  `apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: promtcp
  namespace: istio-system
spec:
  match: 'context.protocol == "tcp"'
  actions:
  - handler: handler.prometheus
    instances:
    - tcpbytesent.metric
    - tcpbytereceived.metric`,
].join('\n---\n');
