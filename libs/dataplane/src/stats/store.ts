/**
 * Envoy-named stats (`cluster.<name>.upstream_rq_total`, `http.<prefix>.downstream_rq_5xx`, …).
 * Counters and gauges are plain numbers behind cached handles so the request path does one
 * property increment, no map lookup. The admin API renders them as Envoy's `/stats` text and
 * `/stats/prometheus` (with Istio's tag extraction, see `prometheus.ts`).
 */
/**
 * Istio's Prometheus tag extraction, decided where the stat is created instead of by regex:
 * `cluster.<c>.upstream_rq_2xx` → base `cluster.upstream_rq`, labels
 * `{cluster_name: c, response_code_class: '2xx'}` → `envoy_cluster_upstream_rq{…}`.
 */
export interface StatTags {
  base: string;
  labels: Readonly<Record<string, string>>;
}

export class Counter {
  value = 0;
  constructor(
    readonly name: string,
    readonly tags?: StatTags,
  ) {}
  inc(by = 1): void {
    this.value += by;
  }
}

export class Gauge {
  value = 0;
  constructor(
    readonly name: string,
    readonly tags?: StatTags,
  ) {}
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
  set(v: number): void {
    this.value = v;
  }
}

/** Envoy's default histogram bucket bounds (milliseconds). */
export const DEFAULT_BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

export class Histogram {
  readonly counts: number[];
  count = 0;
  sum = 0;
  constructor(
    readonly name: string,
    readonly buckets: readonly number[] = DEFAULT_BUCKETS,
    readonly tags?: StatTags,
  ) {
    this.counts = new Array(buckets.length).fill(0);
  }
  record(v: number): void {
    this.count++;
    this.sum += v;
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]) {
        this.counts[i]++;
        return;
      }
    }
  }
  /** Value at quantile q (0..1), from bucket bounds (upper bound of the bucket holding it). */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const want = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.counts[i];
      if (seen >= want) return this.buckets[i];
    }
    return Infinity;
  }
}

/** One stat of a declared group: its name after the group's prefix and its Prometheus tags. */
export interface StatSpec {
  readonly kind: 'counter' | 'gauge' | 'histogram';
  readonly suffix: string;
  readonly base: string;
  /** Labels of this stat besides the group's (e.g. `response_code_class`). */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Stats declared together under one prefix (a cluster's): each is listed by `/stats`, at zero,
 * from the declaration on, but gets an object (and a name string) only when first used. A
 * sidecar's clusters declare about 30 stats each and use a handful, so most of them stay
 * as one shared spec list (issue #4: ~6,000 stat objects for 200 clusters).
 */
export class StatGroup {
  constructor(
    private readonly store: StatsStore,
    readonly prefix: string,
    readonly specs: readonly StatSpec[],
    readonly labels: Readonly<Record<string, string>>,
  ) {}
  tags(spec: StatSpec): StatTags {
    return { base: spec.base, labels: spec.labels ? { ...this.labels, ...spec.labels } : this.labels };
  }
  /** The stat of spec `i`, created on first use. */
  counter(i: number): Counter {
    return this.store.counter(this.prefix + this.specs[i].suffix, this.tags(this.specs[i]));
  }
  gauge(i: number): Gauge {
    return this.store.gauge(this.prefix + this.specs[i].suffix, this.tags(this.specs[i]));
  }
  histogram(i: number): Histogram {
    return this.store.histogram(this.prefix + this.specs[i].suffix, this.tags(this.specs[i]));
  }
}

export class StatsStore {
  private readonly counterMap = new Map<string, Counter>();
  private readonly gaugeMap = new Map<string, Gauge>();
  private readonly histogramMap = new Map<string, Histogram>();
  private readonly groups = new Map<string, StatGroup>();

  /** Declares a group of stats under `prefix` (replacing an earlier one with that prefix). */
  declare(prefix: string, specs: readonly StatSpec[], labels: Readonly<Record<string, string>>): StatGroup {
    const g = new StatGroup(this, prefix, specs, labels);
    this.groups.set(prefix, g);
    return g;
  }

  counter(name: string, tags?: StatTags): Counter {
    let c = this.counterMap.get(name);
    if (!c) this.counterMap.set(name, (c = new Counter(name, tags)));
    return c;
  }
  gauge(name: string, tags?: StatTags): Gauge {
    let g = this.gaugeMap.get(name);
    if (!g) this.gaugeMap.set(name, (g = new Gauge(name, tags)));
    return g;
  }
  histogram(name: string, tags?: StatTags): Histogram {
    let h = this.histogramMap.get(name);
    if (!h) this.histogramMap.set(name, (h = new Histogram(name, DEFAULT_BUCKETS, tags)));
    return h;
  }
  /** Current value of a counter or gauge (0 when never created). Tests assert on this. */
  value(name: string): number {
    return this.counterMap.get(name)?.value ?? this.gaugeMap.get(name)?.value ?? 0;
  }
  /** Every counter, the declared ones not used yet included (as new zero-valued objects). */
  counters(): Counter[] {
    return this.withDeclared(this.counterMap, 'counter', (name, tags) => new Counter(name, tags));
  }
  gauges(): Gauge[] {
    return this.withDeclared(this.gaugeMap, 'gauge', (name, tags) => new Gauge(name, tags));
  }
  histograms(): Histogram[] {
    return this.withDeclared(
      this.histogramMap,
      'histogram',
      (name, tags) => new Histogram(name, DEFAULT_BUCKETS, tags),
    );
  }
  private withDeclared<T extends { name: string }>(
    created: Map<string, T>,
    kind: StatSpec['kind'],
    make: (name: string, tags: StatTags) => T,
  ): T[] {
    const out = [...created.values()];
    for (const g of this.groups.values()) {
      for (const spec of g.specs) {
        if (spec.kind !== kind) continue;
        const name = g.prefix + spec.suffix;
        if (!created.has(name)) out.push(make(name, g.tags(spec)));
      }
    }
    return out.sort(byName);
  }
  /** Envoy's `/reset_counters`. */
  resetCounters(): void {
    for (const c of this.counterMap.values()) c.value = 0;
  }
  /** Drops every stat whose name starts with `prefix` (a removed cluster or listener). */
  removePrefix(prefix: string): void {
    for (const m of [this.counterMap, this.gaugeMap, this.histogramMap, this.groups] as Map<string, unknown>[]) {
      for (const k of m.keys()) if (k.startsWith(prefix)) m.delete(k);
    }
  }
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
