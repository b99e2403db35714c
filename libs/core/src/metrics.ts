/**
 * Small helpers over prom-client: every component owns its own Registry (no
 * global default), declares its metrics up front, and serves the text format.
 */
import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type { Counter, Gauge, Histogram, Registry };

let promClient: typeof PromClient | undefined;

/**
 * prom-client, loaded when the first registry or metric is made: the sidecar bundles this file
 * (through @tsmesh/core) but never makes one, and loading prom-client (with @opentelemetry/api)
 * costs it about 2 MB of heap (issue #4).
 */
function prom(): typeof PromClient {
  promClient ??= require('prom-client') as typeof PromClient;
  return promClient;
}

/**
 * A new registry; with `withProcessMetrics` also Node's process metrics
 * (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, …) with no prefix and
 * no extra labels, so every series keeps the name the component's dashboards expect.
 * (It takes no component name: which component a series came from is the scrape
 * target's job/instance, as with Istio's own components.)
 */
export function createRegistry(withProcessMetrics = true): Registry {
  const { Registry, collectDefaultMetrics } = prom();
  const registry = new Registry();
  // The event-loop delay is sampled every 100 ms, not prom-client's 10 ms: that timer alone woke
  // an idle component 100 times a second (≈ 5 ms of CPU per second in an idle Mixer, Pilot or
  // Citadel); the nodejs_eventloop_lag_* series keep their names.
  if (withProcessMetrics) collectDefaultMetrics({ register: registry, prefix: '', eventLoopMonitoringPrecision: 100 });
  return registry;
}

export function counter<L extends string = string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): Counter<L> {
  return new (prom().Counter)({ name, help, labelNames, registers: [registry] });
}

export function gauge<L extends string = string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): Gauge<L> {
  return new (prom().Gauge)({ name, help, labelNames, registers: [registry] });
}

export function histogram<L extends string = string>(
  registry: Registry,
  name: string,
  help: string,
  buckets: number[],
  labelNames: readonly L[] = [],
): Histogram<L> {
  return new (prom().Histogram)({ name, help, buckets, labelNames, registers: [registry] });
}

/** Reads one sample's value back (tests and debug endpoints). */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  let total = 0;
  for (const v of data.values) {
    const l = v.labels as Record<string, string | number>;
    if (Object.entries(labels).every(([k, want]) => String(l[k]) === want)) total += v.value;
  }
  return total;
}
