import { renderPrometheus, renderStatsText } from '../stats/render';
import { StatsStore } from '../stats/store';
import { ClusterStats } from './cluster-stats';

describe('ClusterStats', () => {
  const names = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((l) => l.slice(0, l.lastIndexOf(':')));

  it('lists every declared stat at zero before any is used, as Envoy does', () => {
    const store = new StatsStore();
    new ClusterStats(store, 'outbound|8080||a.default.svc.cluster.local');
    const text = renderStatsText(store);
    const p = 'cluster.outbound|8080||a.default.svc.cluster.local.';
    for (const n of [
      'upstream_rq_total',
      'upstream_rq_active',
      'upstream_rq_pending_overflow',
      'upstream_cx_none_healthy',
      'circuit_breakers.default.rq_retry_open',
      'membership_healthy',
      'upstream_rq_2xx',
      'upstream_rq_5xx',
      'retry_or_shadow_abandoned',
      'upstream_cx_http1_total',
      'upstream_cx_http2_total',
    ])
      expect(text).toContain(`${p}${n}: 0\n`);
    expect(text).toContain(`${p}upstream_rq_time: No recorded values\n`);
    expect(names(text)).toHaveLength(33);
    expect(store.value(`${p}upstream_rq_total`)).toBe(0);

    const prom = renderPrometheus(store);
    expect(prom).toContain(
      'envoy_cluster_upstream_rq_xx{cluster_name="outbound|8080||a.default.svc.cluster.local",response_code_class="4xx"} 0',
    );
    expect(prom).toContain(
      'envoy_cluster_circuit_breakers_default_cx_open{cluster_name="outbound|8080||a.default.svc.cluster.local"} 0',
    );
    expect(prom).toContain(
      'envoy_cluster_upstream_rq_time_count{cluster_name="outbound|8080||a.default.svc.cluster.local"} 0',
    );
  });

  it('renders used stats with their values, once, beside the unused ones', () => {
    const store = new StatsStore();
    const s = new ClusterStats(store, 'c');
    s.rqTotal.inc();
    s.rqTotal.inc();
    s.rqActive.inc();
    s.recordStatus(503);
    s.rqTime.record(3);
    s.setBreakerGauges(1, 0, 0, 0, 0);
    const text = renderStatsText(store);
    expect(text).toContain('cluster.c.upstream_rq_total: 2\n');
    expect(text).toContain('cluster.c.upstream_rq_active: 1\n');
    expect(text).toContain('cluster.c.upstream_rq_503: 1\n');
    expect(text).toContain('cluster.c.upstream_rq_5xx: 1\n');
    expect(text).toContain('cluster.c.upstream_rq_2xx: 0\n');
    expect(text).toContain('cluster.c.circuit_breakers.default.rq_open: 1\n');
    expect(text).toContain('cluster.c.circuit_breakers.default.cx_open: 0\n');
    expect(text).toMatch(/cluster\.c\.upstream_rq_time: P0\(5,5\)/);
    const all = names(text);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(34);
    expect(store.value('cluster.c.upstream_rq_total')).toBe(2);
    expect(renderPrometheus(store)).toContain('envoy_cluster_upstream_rq{cluster_name="c",response_code="503"} 1');

    // A gauge set back to 0 keeps its object and reads 0.
    s.setBreakerGauges(0, 0, 0, 0, 0);
    expect(store.value('cluster.c.circuit_breakers.default.rq_open')).toBe(0);

    store.resetCounters();
    expect(renderStatsText(store)).toContain('cluster.c.upstream_rq_total: 0\n');
  });

  it('a removed cluster leaves no stats behind, used or not', () => {
    const store = new StatsStore();
    new ClusterStats(store, 'gone').cxTotal.inc();
    new ClusterStats(store, 'kept');
    store.removePrefix('cluster.gone.');
    const text = renderStatsText(store);
    expect(text).not.toContain('cluster.gone.');
    expect(text).toContain('cluster.kept.upstream_cx_total: 0\n');
  });
});
