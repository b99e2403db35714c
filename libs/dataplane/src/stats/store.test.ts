import { renderPrometheus, renderStatsText } from './render';
import { StatsStore, type StatSpec } from './store';

const names = (s: StatsStore) => [...s.counters(), ...s.gauges(), ...s.histograms()].map((x) => x.name);
const SPECS: StatSpec[] = [
  { kind: 'counter', suffix: 'upstream_rq_total', base: 'cluster.upstream_rq_total' },
  { kind: 'gauge', suffix: 'membership_total', base: 'cluster.membership_total' },
];

describe('StatsStore staged views', () => {
  it('lists what a staged view created only once it is adopted, as the same objects', () => {
    const live = new StatsStore();
    live.counter('kept').inc();
    const staged = live.staged();
    const c = staged.counter('http.next.downstream_rq_total');
    staged.gauge('http.next.downstream_cx_active');
    staged.histogram('http.next.downstream_rq_time');
    c.inc();
    expect(names(live)).toEqual(['kept']);
    expect(live.value('http.next.downstream_rq_total')).toBe(0);
    expect(renderStatsText(live)).not.toContain('next');
    expect(renderPrometheus(live)).not.toContain('next');

    staged.adopt();
    expect(names(live)).toEqual([
      'http.next.downstream_rq_total',
      'kept',
      'http.next.downstream_cx_active',
      'http.next.downstream_rq_time',
    ]);
    expect(live.counter('http.next.downstream_rq_total')).toBe(c);
    expect(live.value('http.next.downstream_rq_total')).toBe(1);
    // A settled view is the store: what it creates from now on is listed at once.
    staged.counter('later');
    expect(names(live)).toContain('later');
  });

  it('drops what a discarded view created, and keeps what it shared with the store', () => {
    const live = new StatsStore();
    const shared = live.counter('http.l.downstream_rq_total');
    const staged = live.staged();
    expect(staged.counter('http.l.downstream_rq_total')).toBe(shared);
    staged.counter('http.refused.downstream_rq_total');
    staged.discard();
    expect(names(live)).toEqual(['http.l.downstream_rq_total']);
    // Created anew (not the dropped object) when asked for again.
    expect(live.counter('http.refused.downstream_rq_total').value).toBe(0);
  });

  it('a pending stat held by two views survives the discard of one; live use makes it listed', () => {
    const live = new StatsStore();
    const a = live.staged();
    const b = live.staged();
    const c = a.counter('x');
    expect(b.counter('x')).toBe(c);
    a.discard();
    expect(names(live)).toEqual([]);
    b.adopt();
    expect(names(live)).toEqual(['x']);

    const d = live.staged();
    const y = d.counter('y');
    expect(live.counter('y')).toBe(y);
    expect(names(live)).toEqual(['x', 'y']);
    d.discard();
    expect(names(live)).toEqual(['x', 'y']);
  });

  it('declared groups: a new one is listed on adoption, one replacing a declared prefix replaces it then', () => {
    const live = new StatsStore();
    const staged = live.staged();
    staged.declare('cluster.a.', SPECS, { cluster_name: 'a' });
    expect(names(live)).toEqual([]);
    staged.adopt();
    expect(names(live)).toEqual(['cluster.a.upstream_rq_total', 'cluster.a.membership_total']);

    const next = live.staged();
    const g = next.declare('cluster.a.', SPECS.slice(0, 1), { cluster_name: 'a' });
    expect(names(live)).toEqual(['cluster.a.upstream_rq_total', 'cluster.a.membership_total']);
    next.adopt();
    expect(names(live)).toEqual(['cluster.a.upstream_rq_total']);
    g.counter(0).inc();
    expect(live.value('cluster.a.upstream_rq_total')).toBe(1);

    const refused = live.staged();
    refused.declare('cluster.b.', SPECS, { cluster_name: 'b' });
    refused.declare('cluster.a.', SPECS, { cluster_name: 'a' });
    refused.discard();
    expect(names(live)).toEqual(['cluster.a.upstream_rq_total']);
  });

  it('removePrefix also forgets pending stats under the prefix', () => {
    const live = new StatsStore();
    const staged = live.staged();
    staged.counter('cluster.gone.x');
    live.removePrefix('cluster.gone.');
    staged.adopt();
    expect(names(live)).toEqual([]);
  });
});
