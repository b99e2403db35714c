import { renderPrometheus, renderStatsText } from './render';
import { StatsStore } from './store';

describe('stats rendering', () => {
  const store = new StatsStore();
  store
    .counter('cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total', {
      base: 'cluster.upstream_rq_total',
      labels: { cluster_name: 'outbound|9080||reviews.default.svc.cluster.local' },
    })
    .inc(3);
  store
    .counter('cluster.c.upstream_rq_2xx', {
      base: 'cluster.upstream_rq_xx',
      labels: { cluster_name: 'c', response_code_class: '2xx' },
    })
    .inc(2);
  store
    .gauge('cluster.c.upstream_cx_active', { base: 'cluster.upstream_cx_active', labels: { cluster_name: 'c' } })
    .set(1);
  const h = store.histogram('cluster.c.upstream_rq_time', {
    base: 'cluster.upstream_rq_time',
    labels: { cluster_name: 'c' },
  });
  h.record(3);
  h.record(40);

  it('renders Envoy /stats text lines', () => {
    const text = renderStatsText(store);
    expect(text).toContain('cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total: 3\n');
    expect(text).toContain('cluster.c.upstream_cx_active: 1\n');
    expect(text).toMatch(/cluster\.c\.upstream_rq_time: P0\(5,5\) .*P100\(50,50\)/);
  });

  it('renders /stats/prometheus with Istio tag names as labels', () => {
    const text = renderPrometheus(store);
    expect(text).toContain(
      'envoy_cluster_upstream_rq_total{cluster_name="outbound|9080||reviews.default.svc.cluster.local"} 3',
    );
    expect(text).toContain('envoy_cluster_upstream_rq_xx{cluster_name="c",response_code_class="2xx"} 2');
    expect(text).toContain('# TYPE envoy_cluster_upstream_rq_time histogram');
    expect(text).toContain('envoy_cluster_upstream_rq_time_bucket{cluster_name="c",le="50"} 2');
    expect(text).toContain('envoy_cluster_upstream_rq_time_count{cluster_name="c"} 2');
  });

  it('resets counters but not gauges (/reset_counters)', () => {
    const s = new StatsStore();
    s.counter('a').inc(5);
    s.gauge('b').set(2);
    s.resetCounters();
    expect([s.value('a'), s.value('b')]).toEqual([0, 2]);
  });
});
