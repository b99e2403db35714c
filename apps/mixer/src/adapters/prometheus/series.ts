/**
 * The prometheus adapter's metrics. prom-client's Counter / Gauge / Histogram validate and hash
 * the label object on every observation, even through `labels(...)` children; Mixer records four
 * observations with 17 labels per reported request, and that was the largest part of its Report
 * cost. Here each label set is bound once to its own state, and prom-client's Registry gets the
 * same values it would get from its own metrics (`get()`: values with labels, `_bucket` /
 * `_sum` / `_count` for histograms) and renders the exposition text itself.
 */
import type { Registry } from '@tsmesh/core';

export type SeriesKind = 'COUNTER' | 'GAUGE' | 'DISTRIBUTION';

interface State {
  labels: Record<string, string>;
  value: number;
  /** DISTRIBUTION: observations per bucket (not cumulative); index = bound. */
  buckets: number[] | null;
  sum: number;
  count: number;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export class AdapterSeries {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum';
  private states: State[] = [];
  private readonly recorders = new Map<string, (value: number) => void>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: SeriesKind,
    /** As prom-client's metrics name them. */
    readonly labelNames: readonly string[],
    readonly upperBounds: readonly number[] = [],
  ) {
    this.type = kind === 'COUNTER' ? 'counter' : kind === 'GAUGE' ? 'gauge' : 'histogram';
    // what prom-client's constructors reject
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name ${name}`);
    for (const l of labelNames)
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l) || l.startsWith('__')) throw new Error(`invalid label name ${l}`);
    if (kind === 'DISTRIBUTION' && labelNames.includes('le')) throw new Error('le is a reserved label keyword');
  }

  /** Registers with `registry` (in place of a metric of that name). */
  register(registry: Registry): this {
    if (registry.getSingleMetric(this.name)) registry.removeSingleMetric(this.name);
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
    return this;
  }

  /**
   * The recorder of one label set (`key`: its values joined; names and values are read only the
   * first time): counters add, gauges set, distributions observe.
   */
  recorder(key: string, names: readonly string[], values: readonly string[]): (value: number) => void {
    let r = this.recorders.get(key);
    if (!r) {
      const labels: Record<string, string> = {};
      names.forEach((n, i) => (labels[n] = values[i]));
      this.recorders.set(key, (r = this.bind(labels)));
    }
    return r;
  }

  private bind(labels: Record<string, string>): (value: number) => void {
    const s: State = {
      labels,
      value: 0,
      buckets: this.kind === 'DISTRIBUTION' ? new Array<number>(this.upperBounds.length).fill(0) : null,
      sum: 0,
      count: 0,
    };
    this.states.push(s);
    if (this.kind === 'COUNTER')
      return (v) => {
        if (v < 0) throw new Error('counters cannot decrease');
        s.value += v;
      };
    if (this.kind === 'GAUGE') return (v) => void (s.value = v);
    const bounds = this.upperBounds;
    const buckets = s.buckets as number[];
    return (v) => {
      // the first bound not below the value; above all of them only +Inf counts it
      for (let i = 0; i < bounds.length; i++)
        if (v <= bounds[i]) {
          buckets[i]++;
          break;
        }
      s.sum += v;
      s.count++;
    };
  }

  /** Zeroes every series (prom-client's `reset`; the label sets stay bound). */
  reset(): void {
    for (const s of this.states) {
      s.value = 0;
      s.sum = 0;
      s.count = 0;
      s.buckets?.fill(0);
    }
  }

  /** prom-client's metric data: what `Registry.metrics()` and `metricValue` read. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    if (this.kind !== 'DISTRIBUTION') for (const s of this.states) values.push({ labels: s.labels, value: s.value });
    else {
      const bucket = `${this.name}_bucket`;
      for (const s of this.states) {
        let acc = 0;
        this.upperBounds.forEach((le, i) => {
          acc += (s.buckets as number[])[i];
          values.push({ labels: { le, ...s.labels }, value: acc, metricName: bucket });
        });
        values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucket });
        values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
        values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
      }
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
