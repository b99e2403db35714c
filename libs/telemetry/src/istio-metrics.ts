/**
 * Istio 1.0's standard metrics as the Mixer Prometheus adapter exposed them
 * (helm `charts/mixer/templates/config.yaml`: `kind: metric` instances +
 * `kind: prometheus` handler, namespace `istio`). The one source of these
 * names, label lists and buckets: Mixer's built-in telemetry config is
 * generated from it, and the proxy-side telemetry registers the same series.
 */
import { counter, histogram, type Counter, type Histogram, type Registry } from '@tsmesh/core';

/** Labels of the HTTP/gRPC metrics, in the handler's order. */
export const ISTIO_HTTP_LABELS = [
  'reporter',
  'source_app',
  'source_principal',
  'source_workload',
  'source_workload_namespace',
  'source_version',
  'destination_app',
  'destination_principal',
  'destination_workload',
  'destination_workload_namespace',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'request_protocol',
  'response_code',
  'connection_security_policy',
] as const;

/** Labels of the TCP metrics (no request_protocol / response_code). */
export const ISTIO_TCP_LABELS = ISTIO_HTTP_LABELS.filter((l) => l !== 'request_protocol' && l !== 'response_code');

export type IstioHttpLabel = (typeof ISTIO_HTTP_LABELS)[number];

/**
 * Mixer's ExponentialBuckets: `numFiniteBuckets` finite buckets have
 * `numFiniteBuckets + 1` boundaries `scale * growthFactor^i`, i = 0…N.
 */
export function exponentialBuckets(scale: number, growthFactor: number, numFiniteBuckets: number): number[] {
  const out: number[] = [];
  for (let i = 0; i <= numFiniteBuckets; i++) out.push(scale * growthFactor ** i);
  return out;
}

/** A distribution's buckets as Istio 1.0's prometheus handler config gives them. */
export type IstioBucketsSpec =
  | { explicit: { bounds: readonly number[] } }
  | { exponential: { numFiniteBuckets: number; scale: number; growthFactor: number } };

/** `requestduration`: explicit buckets (seconds). */
export const ISTIO_DURATION_BUCKETS_SPEC: IstioBucketsSpec = {
  explicit: { bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
};
/** `requestsize`/`responsesize`: exponential, 8 finite buckets, scale 1, growth 10. */
export const ISTIO_SIZE_BUCKETS_SPEC: IstioBucketsSpec = {
  exponential: { numFiniteBuckets: 8, scale: 1, growthFactor: 10 },
};

/** The bucket boundaries a spec gives. */
export function bucketBounds(spec: IstioBucketsSpec): number[] {
  if ('explicit' in spec) return [...spec.explicit.bounds];
  const e = spec.exponential;
  return exponentialBuckets(e.scale, e.growthFactor, e.numFiniteBuckets);
}

export const ISTIO_DURATION_BUCKETS = bucketBounds(ISTIO_DURATION_BUCKETS_SPEC);
export const ISTIO_SIZE_BUCKETS = bucketBounds(ISTIO_SIZE_BUCKETS_SPEC);

export interface IstioMetricDef {
  /** Prometheus name including the `istio_` namespace. */
  name: string;
  /** The Mixer `metric` instance name. */
  instance: string;
  kind: 'counter' | 'histogram';
  help: string;
  labels: readonly string[];
  buckets?: readonly number[];
  /** Where `buckets` come from, as the Mixer handler config writes it. */
  bucketsSpec?: IstioBucketsSpec;
  /** The instance's `value` expression. */
  value: string;
  protocol: 'http' | 'tcp';
}

export const ISTIO_METRICS: readonly IstioMetricDef[] = [
  {
    name: 'istio_requests_total',
    instance: 'requestcount',
    kind: 'counter',
    help: 'requests_total',
    labels: ISTIO_HTTP_LABELS,
    value: '1',
    protocol: 'http',
  },
  {
    name: 'istio_request_duration_seconds',
    instance: 'requestduration',
    kind: 'histogram',
    help: 'request_duration_seconds',
    labels: ISTIO_HTTP_LABELS,
    buckets: ISTIO_DURATION_BUCKETS,
    bucketsSpec: ISTIO_DURATION_BUCKETS_SPEC,
    value: 'response.duration | "0ms"',
    protocol: 'http',
  },
  {
    name: 'istio_request_bytes',
    instance: 'requestsize',
    kind: 'histogram',
    help: 'request_bytes',
    labels: ISTIO_HTTP_LABELS,
    buckets: ISTIO_SIZE_BUCKETS,
    bucketsSpec: ISTIO_SIZE_BUCKETS_SPEC,
    value: 'request.size | 0',
    protocol: 'http',
  },
  {
    name: 'istio_response_bytes',
    instance: 'responsesize',
    kind: 'histogram',
    help: 'response_bytes',
    labels: ISTIO_HTTP_LABELS,
    buckets: ISTIO_SIZE_BUCKETS,
    bucketsSpec: ISTIO_SIZE_BUCKETS_SPEC,
    value: 'response.size | 0',
    protocol: 'http',
  },
  {
    name: 'istio_tcp_sent_bytes_total',
    instance: 'tcpbytesent',
    kind: 'counter',
    help: 'tcp_sent_bytes_total',
    labels: ISTIO_TCP_LABELS,
    value: 'connection.sent.bytes | 0',
    protocol: 'tcp',
  },
  {
    name: 'istio_tcp_received_bytes_total',
    instance: 'tcpbytereceived',
    kind: 'counter',
    help: 'tcp_received_bytes_total',
    labels: ISTIO_TCP_LABELS,
    value: 'connection.received.bytes | 0',
    protocol: 'tcp',
  },
];

export type IstioMetricName =
  | 'istio_requests_total'
  | 'istio_request_duration_seconds'
  | 'istio_request_bytes'
  | 'istio_response_bytes'
  | 'istio_tcp_sent_bytes_total'
  | 'istio_tcp_received_bytes_total';

export function istioMetric(name: IstioMetricName): IstioMetricDef {
  const def = ISTIO_METRICS.find((m) => m.name === name);
  if (!def) throw new Error(`unknown Istio metric ${name}`);
  return def;
}

/** Every label set to `unknown` (Istio's default) and then overridden by `values`. */
export function istioLabels(
  labels: readonly string[],
  values: Partial<Record<string, string | number>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) {
    const v = values[l];
    out[l] = v === undefined || v === '' ? 'unknown' : String(v);
  }
  return out;
}

export interface IstioMetricSet {
  istio_requests_total: Counter<string>;
  istio_request_duration_seconds: Histogram<string>;
  istio_request_bytes: Histogram<string>;
  istio_response_bytes: Histogram<string>;
  istio_tcp_sent_bytes_total: Counter<string>;
  istio_tcp_received_bytes_total: Counter<string>;
}

/** Registers the six standard metrics on `registry`. */
export function registerIstioMetrics(registry: Registry): IstioMetricSet {
  const out: Record<string, Counter<string> | Histogram<string>> = {};
  for (const def of ISTIO_METRICS) {
    out[def.name] =
      def.kind === 'counter'
        ? counter(registry, def.name, def.help, def.labels)
        : histogram(registry, def.name, def.help, [...(def.buckets ?? [])], def.labels);
  }
  return out as unknown as IstioMetricSet;
}
