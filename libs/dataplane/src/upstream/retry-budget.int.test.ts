import { FakeClock, SequenceRandom } from '@tsmesh/core';
import { httpRequest } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  pump,
  startUpstream,
  staticClusterYaml,
  testEngine,
  yamlSnapshot,
  type TestUpstream,
} from '../engine/testing';

const ROUTES = `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route: {cluster: c, retry_policy: {retry_on: 5xx, num_retries: 3}}
`;

/**
 * The default retry budget (`retry_budget: {}`) as tsmesh implements Linkerd's: over a 10 s window,
 * retries may not exceed 20 % of requests plus 10 per second (100 in the window).
 */
describe('retry budget defaults through the engine (fake clock)', () => {
  let dp: Dataplane;
  let clock: FakeClock;
  let up: TestUpstream;
  beforeEach(async () => {
    up = await startUpstream('bad', (_q, res) => {
      res.writeHead(503);
      res.end('bad');
    });
    clock = new FakeClock();
    // Backoff draws 0: each retry is due at the next tick of the fake clock.
    dp = testEngine({ clock, random: new SequenceRandom([0]) });
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [ROUTES],
        // max_retries 0 would forbid any retry; with a budget the budget decides instead (Envoy).
        clusters: [
          staticClusterYaml('c', [up.address], 'circuit_breakers: {thresholds: [{max_retries: 0, retry_budget: {}}]}'),
        ],
      }),
    );
  });
  afterEach(async () => {
    await dp.stop();
    await up.close();
  });

  const stat = (n: string) => dp.stats.value(`cluster.c.${n}`);
  const send = () => pump(clock, httpRequest(`http://${dp.address('l')}/`), 1);

  it('lets a lone request use all its retries (the per-second minimum covers it)', async () => {
    const r = await send();
    expect([r.status, r.body]).toEqual([503, 'bad']);
    expect(up.requests).toHaveLength(4);
    expect(stat('upstream_rq_retry')).toBe(3);
    expect(stat('upstream_rq_retry_limit_exceeded')).toBe(1);
    expect(stat('upstream_rq_retry_overflow')).toBe(0);
  });

  it('caps a retry storm at 100 + 20 % of requests in the window, counting upstream_rq_retry_overflow', async () => {
    for (let i = 0; i < 50; i++) expect((await send()).status).toBe(503);
    // 50 requests would retry 150 times; the budget allows 100 + 0.2 × 50 = 110.
    expect(stat('upstream_rq_retry')).toBe(110);
    expect(up.requests).toHaveLength(160);
    // Requests 1–35 retried three times; 36–50 were refused the rest of their retries.
    expect(stat('upstream_rq_retry_limit_exceeded')).toBe(35);
    expect(stat('upstream_rq_retry_overflow')).toBe(15);
    expect(stat('upstream_rq_total')).toBe(160);

    // Ten seconds on, the window has rolled over and retries are allowed again.
    clock.advance(10_000);
    await send();
    expect(stat('upstream_rq_retry')).toBe(113);
    expect(stat('upstream_rq_retry_overflow')).toBe(15);
  });
});
