import type http from 'node:http';
import { FakeClock, SequenceRandom } from '@tsmesh/core';
import { httpRequest } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  pump,
  startUpstream,
  staticClusterYaml,
  testEngine,
  until,
  yamlSnapshot,
  type TestUpstream,
} from '../engine/testing';
import type { StreamInfo } from '../http/stream-info';

const ROUTES = (retry = '') => `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route: {cluster: c${retry}}
`;

describe('cluster: circuit breakers, outlier detection, retry budget', () => {
  let dp: Dataplane;
  let clock: FakeClock;
  let infos: StreamInfo[];
  const ups: TestUpstream[] = [];
  afterEach(async () => {
    await dp?.stop();
    await Promise.all(ups.splice(0).map((u) => u.close()));
  });

  async function start(cluster: string, retry = ''): Promise<string> {
    clock = new FakeClock();
    dp = testEngine({ clock, random: new SequenceRandom([0]) });
    infos = [];
    dp.onStreamComplete((i) => infos.push(i));
    await dp.apply(
      yamlSnapshot({ listeners: [httpListenerYaml('l', 'r')], routes: [ROUTES(retry)], clusters: [cluster] }),
    );
    return `http://${dp.address('l')}`;
  }

  it('overflows max_connections + max_pending_requests with 503 UO and x-envoy-overloaded (Istio circuit-breaker demo)', async () => {
    const held: http.ServerResponse[] = [];
    const slow = await startUpstream('slow', (_q, res) => held.push(res));
    ups.push(slow);
    const base = await start(
      staticClusterYaml(
        'c',
        [slow.address],
        'circuit_breakers: {thresholds: [{max_connections: 1, max_pending_requests: 1, max_requests: 100}]}',
      ),
    );
    const first = httpRequest(`${base}/1`);
    const second = httpRequest(`${base}/2`);
    await until(() => held.length === 1 && dp.clusters()[0].rqActive === 2);
    const third = await httpRequest(`${base}/3`);
    expect(third.status).toBe(503);
    expect(third.headers['x-envoy-overloaded']).toBe('true');
    expect(dp.stats.value('cluster.c.upstream_rq_pending_overflow')).toBe(1);
    expect(dp.stats.value('cluster.c.upstream_rq_pending_active')).toBe(1);
    held[0].end('one');
    await until(() => held.length === 2);
    held[1].end('two');
    expect((await first).body).toBe('one');
    expect((await second).body).toBe('two');
    await until(() => infos.length === 3);
    expect(infos.find((i) => i.responseCode === 503)?.responseFlags).toEqual(['UO']);
  });

  it('overflows max_requests', async () => {
    const held: http.ServerResponse[] = [];
    const slow = await startUpstream('slow', (_q, res) => held.push(res));
    ups.push(slow);
    const base = await start(
      staticClusterYaml('c', [slow.address], 'circuit_breakers: {thresholds: [{max_requests: 1}]}'),
    );
    const first = httpRequest(`${base}/1`);
    await until(() => held.length === 1);
    expect((await httpRequest(`${base}/2`)).status).toBe(503);
    held[0].end('ok');
    expect((await first).status).toBe(200);
  });

  it('ejects a host after consecutive 5xx and brings it back after base_ejection_time (fake clock)', async () => {
    const bad = await startUpstream('bad', (_q, res) => {
      res.writeHead(500);
      res.end('bad');
    });
    const good = await startUpstream('good');
    ups.push(bad, good);
    const base = await start(
      staticClusterYaml(
        'c',
        [bad.address, good.address],
        'outlier_detection: {consecutive_5xx: 2, interval: 10s, base_ejection_time: 30s, max_ejection_percent: 100}',
      ),
    );
    const bodies: string[] = [];
    for (let i = 0; i < 8; i++) bodies.push((await httpRequest(`${base}/`)).body);
    expect(bodies.slice(0, 4)).toEqual(['bad', 'good', 'bad', 'good']);
    expect(bodies.slice(4)).toEqual(['good', 'good', 'good', 'good']);
    expect(dp.stats.value('cluster.c.outlier_detection.ejections_active')).toBe(1);
    expect(dp.stats.value('cluster.c.outlier_detection.ejections_enforced_consecutive_5xx')).toBe(1);
    expect(dp.clusters()[0].hosts.find((h) => h.address === bad.address)?.healthFlags).toBe('/failed_outlier_check');
    clock.advance(30000);
    expect(dp.stats.value('cluster.c.outlier_detection.ejections_active')).toBe(0);
    const after = [(await httpRequest(`${base}/`)).body, (await httpRequest(`${base}/`)).body].sort();
    expect(after).toEqual(['bad', 'good']);
  });

  it('ejects on consecutive gateway failures when enforced (Istio 1.0 consecutiveErrors)', async () => {
    const bad = await startUpstream('bad', (_q, res) => {
      res.writeHead(503);
      res.end('bad');
    });
    const good = await startUpstream('good');
    ups.push(bad, good);
    const base = await start(
      staticClusterYaml(
        'c',
        [bad.address, good.address],
        'outlier_detection: {consecutive_5xx: 0, consecutive_gateway_failure: 1, enforcing_consecutive_gateway_failure: 100, enforcing_consecutive_5xx: 0, max_ejection_percent: 100}',
      ),
    );
    for (let i = 0; i < 4; i++) await httpRequest(`${base}/`);
    expect(bad.requests).toHaveLength(1);
    expect(dp.stats.value('cluster.c.outlier_detection.ejections_enforced_consecutive_gateway_failure')).toBe(1);
  });

  it('limits retries with a retry budget (20% of requests) so they cannot storm', async () => {
    const bad = await startUpstream('bad', (_q, res) => {
      res.writeHead(503);
      res.end();
    });
    ups.push(bad);
    const base = await start(
      staticClusterYaml(
        'c',
        [bad.address],
        'circuit_breakers: {thresholds: [{retry_budget: {budget_percent: {value: 20}, min_retry_concurrency: 0}}]}',
      ),
      ', retry_policy: {retry_on: 5xx, num_retries: 3}',
    );
    for (let i = 0; i < 5; i++) await pump(clock, httpRequest(`${base}/`));
    expect(dp.stats.value('cluster.c.upstream_rq_retry')).toBe(1);
    expect(bad.requests).toHaveLength(6);
    expect(dp.stats.value('cluster.c.upstream_rq_retry_overflow')).toBe(5);
  });

  it('caps concurrent retries with max_retries', async () => {
    const bad = await startUpstream('bad', (_q, res) => {
      res.writeHead(503);
      res.end();
    });
    ups.push(bad);
    const base = await start(
      staticClusterYaml('c', [bad.address], 'circuit_breakers: {thresholds: [{max_retries: 0}]}'),
      ', retry_policy: {retry_on: 5xx, num_retries: 3}',
    );
    expect((await httpRequest(`${base}/`)).status).toBe(503);
    expect(bad.requests).toHaveLength(1);
    expect(dp.stats.value('cluster.c.upstream_rq_retry_overflow')).toBe(1);
  });
});

describe('PEAK_EWMA selection through cluster metadata', () => {
  it('prefers the host that answered faster (latency on the fake clock)', async () => {
    const clock = new FakeClock();
    const held: http.ServerResponse[] = [];
    const slow = await startUpstream('slow', (_q, res) => held.push(res));
    const fast = await startUpstream('fast');
    // P2C draws: first pick slow only, then fast only, then both (slow, fast) from then on.
    const draws = [0, 0, 0.9, 0.9];
    let n = 0;
    const dp = testEngine({ clock, random: { next: () => draws.shift() ?? (n++ % 2 ? 0.9 : 0) } });
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [ROUTES()],
        clusters: [
          staticClusterYaml(
            'c',
            [slow.address, fast.address],
            'metadata: {filter_metadata: {tsmesh: {lb_policy: PEAK_EWMA}}}',
          ),
        ],
      }),
    );
    expect(dp.clusters()[0].lbPolicy).toBe('PEAK_EWMA');
    const base = `http://${dp.address('l')}`;
    const first = httpRequest(`${base}/`);
    await until(() => held.length === 1);
    clock.advance(200);
    held[0].end('slow');
    expect((await first).body).toBe('slow');
    expect((await httpRequest(`${base}/`)).body).toBe('fast');
    const rest: string[] = [];
    for (let i = 0; i < 4; i++) rest.push((await httpRequest(`${base}/`)).body);
    expect(rest).toEqual(['fast', 'fast', 'fast', 'fast']);
    await dp.stop();
    await slow.close();
    await fast.close();
  });
});
