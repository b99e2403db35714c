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

/** The tables a store and its staged views share. */
interface Tables {
  readonly counters: Map<string, Counter>;
  readonly gauges: Map<string, Gauge>;
  readonly histograms: Map<string, Histogram>;
  readonly groups: Map<string, StatGroup>;
  /**
   * Stats (`c:`/`g:`/`h:` + name, `d:` + group prefix) created by staged views not yet adopted or
   * discarded, and not used by live code since: left out of every listing. Each maps to the
   * stages holding it (a stat is dropped when the last of them is discarded).
   */
  readonly pending: Map<string, Set<Stage>>;
}

/** One staged view's state while it is open. */
interface Stage {
  /** The pending keys this stage created or picked up. */
  readonly keys: Set<string>;
  /** Group declarations that replace a group already declared under their prefix, done on adoption. */
  readonly replacements: StatGroup[];
}

export class StatsStore {
  private readonly t: Tables;
  /** Open stage of a staged view; undefined for the store itself and for a settled view. */
  private stage: Stage | undefined;

  constructor() {
    this.t = { counters: new Map(), gauges: new Map(), histograms: new Map(), groups: new Map(), pending: new Map() };
  }

  /**
   * A view of this store whose new stats stay out of every listing (and `value`) until `adopt()`,
   * and are dropped by `discard()`. A config is built against one: what an accepted config created
   * shows from its swap on, a refused config leaves nothing behind (Envoy shows no stats for a
   * listener it rejected). A stat that already exists is shared, as usual, by name; one the live
   * store (or an adopted view) asks for is live from then on. Once settled the view is the store.
   */
  staged(): StatsStore {
    const view = Object.create(StatsStore.prototype) as StatsStore;
    Object.assign(view, { t: this.t, stage: { keys: new Set(), replacements: [] } satisfies Stage });
    return view;
  }

  /** Makes what this staged view created part of the store (listed from now on). */
  adopt(): void {
    const st = this.stage;
    if (!st) return;
    this.stage = undefined;
    for (const k of st.keys) this.t.pending.delete(k);
    for (const g of st.replacements) this.t.groups.set(g.prefix, g);
  }

  /** Drops what this staged view created that no other open view holds and no live code used. */
  discard(): void {
    const st = this.stage;
    if (!st) return;
    this.stage = undefined;
    const { pending } = this.t;
    for (const k of st.keys) {
      const owners = pending.get(k);
      if (!owners) continue;
      owners.delete(st);
      if (owners.size > 0) continue;
      pending.delete(k);
      this.table(k).delete(k.slice(2));
    }
  }

  private table(key: string): Map<string, unknown> {
    const t = this.t;
    return key[0] === 'c' ? t.counters : key[0] === 'g' ? t.gauges : key[0] === 'h' ? t.histograms : t.groups;
  }

  /** `key` was just created through this view. */
  private created(key: string): void {
    const st = this.stage;
    if (!st) return;
    this.t.pending.set(key, new Set([st]));
    st.keys.add(key);
  }

  /** `key` existed already: a pending stat is held by this open stage too, or made live. */
  private reused(key: string): void {
    const owners = this.t.pending.get(key);
    if (!owners) return;
    const st = this.stage;
    if (st) {
      owners.add(st);
      st.keys.add(key);
    } else this.t.pending.delete(key);
  }

  private hidden(key: string): boolean {
    return this.t.pending.size > 0 && this.t.pending.has(key);
  }

  /** Declares a group of stats under `prefix` (replacing an earlier one with that prefix). */
  declare(prefix: string, specs: readonly StatSpec[], labels: Readonly<Record<string, string>>): StatGroup {
    const g = new StatGroup(this, prefix, specs, labels);
    if (this.stage && this.t.groups.has(prefix)) this.stage.replacements.push(g);
    else {
      this.t.groups.set(prefix, g);
      this.created(`d:${prefix}`);
    }
    return g;
  }

  counter(name: string, tags?: StatTags): Counter {
    let c = this.t.counters.get(name);
    if (!c) {
      this.t.counters.set(name, (c = new Counter(name, tags)));
      if (this.stage) this.created(`c:${name}`);
    } else if (this.t.pending.size > 0) this.reused(`c:${name}`);
    return c;
  }
  gauge(name: string, tags?: StatTags): Gauge {
    let g = this.t.gauges.get(name);
    if (!g) {
      this.t.gauges.set(name, (g = new Gauge(name, tags)));
      if (this.stage) this.created(`g:${name}`);
    } else if (this.t.pending.size > 0) this.reused(`g:${name}`);
    return g;
  }
  histogram(name: string, tags?: StatTags): Histogram {
    let h = this.t.histograms.get(name);
    if (!h) {
      this.t.histograms.set(name, (h = new Histogram(name, DEFAULT_BUCKETS, tags)));
      if (this.stage) this.created(`h:${name}`);
    } else if (this.t.pending.size > 0) this.reused(`h:${name}`);
    return h;
  }
  /** Current value of a counter or gauge (0 when never created, or staged only). Tests assert on this. */
  value(name: string): number {
    const c = this.hidden(`c:${name}`) ? undefined : this.t.counters.get(name);
    const g = this.hidden(`g:${name}`) ? undefined : this.t.gauges.get(name);
    return c?.value ?? g?.value ?? 0;
  }
  /** Every counter, the declared ones not used yet included (as new zero-valued objects). */
  counters(): Counter[] {
    return this.withDeclared(this.t.counters, 'counter', (name, tags) => new Counter(name, tags));
  }
  gauges(): Gauge[] {
    return this.withDeclared(this.t.gauges, 'gauge', (name, tags) => new Gauge(name, tags));
  }
  histograms(): Histogram[] {
    return this.withDeclared(
      this.t.histograms,
      'histogram',
      (name, tags) => new Histogram(name, DEFAULT_BUCKETS, tags),
    );
  }
  private withDeclared<T extends { name: string }>(
    created: Map<string, T>,
    kind: StatSpec['kind'],
    make: (name: string, tags: StatTags) => T,
  ): T[] {
    const k = kind[0];
    const listed = (name: string) => created.has(name) && !this.hidden(`${k}:${name}`);
    const out = [...created.values()].filter((s) => listed(s.name));
    for (const g of this.t.groups.values()) {
      if (this.hidden(`d:${g.prefix}`)) continue;
      for (const spec of g.specs) {
        if (spec.kind !== kind) continue;
        const name = g.prefix + spec.suffix;
        if (!listed(name)) out.push(make(name, g.tags(spec)));
      }
    }
    return out.sort(byName);
  }
  /** Envoy's `/reset_counters`. */
  resetCounters(): void {
    for (const c of this.t.counters.values()) c.value = 0;
  }
  /** Drops every stat whose name starts with `prefix` (a removed cluster or listener). */
  removePrefix(prefix: string): void {
    const { counters, gauges, histograms, groups, pending } = this.t;
    for (const [tag, m] of [
      ['c', counters],
      ['g', gauges],
      ['h', histograms],
      ['d', groups],
    ] as [string, Map<string, unknown>][]) {
      for (const k of m.keys()) {
        if (!k.startsWith(prefix)) continue;
        m.delete(k);
        pending.delete(`${tag}:${k}`);
      }
    }
  }
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
