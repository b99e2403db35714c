/**
 * Istio 1.0's default telemetry config (helm `charts/mixer/templates/config.yaml`):
 * the six standard metric instances, the prometheus handler and the promhttp /
 * promtcp rules. Loaded before --config-dir unless --no-builtin-config.
 *
 * Generated from `ISTIO_METRICS` (@tsmesh/telemetry), the one definition of the
 * standard metrics' names, instances, values, label lists and buckets; only the
 * CEXL expression of each label is written here.
 */
import { ISTIO_METRICS, type IstioBucketsSpec, type IstioMetricDef } from '@tsmesh/telemetry';

const REPORTER = `conditional((context.reporter.kind | "inbound") == "outbound", "source", "destination")`;
const SECURITY_POLICY = `conditional((context.reporter.kind | "inbound") == "outbound", "unknown", conditional(connection.mtls | false, "mutual_tls", "none"))`;

/** The expression behind each label of the HTTP metrics (requestcount, requestduration, requestsize, responsesize). */
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

/** The TCP metrics' labels: Istio 1.0 filled destination_service from the service name there. */
const TCP_DIMENSIONS: Readonly<Record<string, string>> = {
  ...HTTP_DIMENSIONS,
  destination_service: 'destination.service.name | "unknown"',
};

/** The expression of each label of `def`, in the order of its label list. */
function dimensionsOf(def: IstioMetricDef): Array<[string, string]> {
  const exprs = def.protocol === 'tcp' ? TCP_DIMENSIONS : HTTP_DIMENSIONS;
  return def.labels.map((label) => {
    const expr = exprs[label];
    if (expr === undefined) throw new Error(`built-in config: no expression for label ${label} of ${def.name}`);
    return [label, expr];
  });
}

function metricInstance(def: IstioMetricDef): string {
  const dims = dimensionsOf(def).map(([label, expr]) => `    ${label}: '${expr}'`);
  return `apiVersion: config.istio.io/v1alpha2
kind: metric
metadata:
  name: ${def.instance}
  namespace: istio-system
spec:
  value: '${def.value}'
  dimensions:
${dims.join('\n')}
  monitored_resource_type: '"UNSPECIFIED"'`;
}

function bucketsYaml(spec: IstioBucketsSpec | undefined): string {
  if (!spec) return '';
  if ('explicit' in spec)
    return `
    buckets:
      explicit_buckets:
        bounds: [${spec.explicit.bounds.join(', ')}]`;
  const e = spec.exponential;
  return `
    buckets:
      exponentialBuckets:
        numFiniteBuckets: ${e.numFiniteBuckets}
        scale: ${e.scale}
        growthFactor: ${e.growthFactor}`;
}

/** One entry of the prometheus handler's `metrics` (the name without the `istio_` namespace). */
function prometheusMetric(def: IstioMetricDef): string {
  const labels = def.labels.map((label) => `    - ${label}`);
  return `  - name: ${def.name.replace(/^istio_/, '')}
    instance_name: ${def.instance}.metric.istio-system
    kind: ${def.kind === 'counter' ? 'COUNTER' : 'DISTRIBUTION'}
    label_names:
${labels.join('\n')}${bucketsYaml(def.bucketsSpec)}`;
}

function rule(name: string, match: string, protocol: 'http' | 'tcp'): string {
  const instances = ISTIO_METRICS.filter((m) => m.protocol === protocol).map((m) => `    - ${m.instance}.metric`);
  return `apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: ${name}
  namespace: istio-system
spec:
  match: '${match}'
  actions:
  - handler: handler.prometheus
    instances:
${instances.join('\n')}`;
}

export const BUILTIN_CONFIG_YAML = [
  ...ISTIO_METRICS.map(metricInstance),
  `apiVersion: config.istio.io/v1alpha2
kind: prometheus
metadata:
  name: handler
  namespace: istio-system
spec:
  metrics:
${ISTIO_METRICS.map(prometheusMetric).join('\n')}`,
  rule('promhttp', 'context.protocol == "http" || context.protocol == "grpc"', 'http'),
  rule('promtcp', 'context.protocol == "tcp"', 'tcp'),
].join('\n---\n');
