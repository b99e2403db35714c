/**
 * Request mirroring is fire-and-forget: a shadow cluster that never answers does not hold up the
 * primary response (asserted by ordering: the primary answers only once the shadow holds its
 * copy, and the client has its response while that copy is still unanswered).
 */
import type http from 'node:http';
import { httpRequest } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  until,
  yamlSnapshot,
  type TestUpstream,
} from '../engine/testing';

describe('mirroring to a hung shadow cluster', () => {
  let dp: Dataplane;
  let main: TestUpstream;
  let shadow: TestUpstream;
  const hung: http.ServerResponse[] = [];

  beforeAll(async () => {
    shadow = await startUpstream('shadow', (_req, res) => hung.push(res));
    main = await startUpstream('main', (req, res) => {
      // Answer only after the shadow copy of this request is being held unanswered.
      void until(() => shadow.requests.some((s) => s.url === req.url)).then(() => res.end(`main ${req.url}`));
    });
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [
          `name: r\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: m, request_mirror_policies: [{cluster: s}]}}]}]`,
        ],
        clusters: [staticClusterYaml('m', [main.address]), staticClusterYaml('s', [shadow.address])],
      }),
    );
  });
  afterAll(async () => {
    for (const res of hung.splice(0)) res.destroy();
    await dp.stop();
    await main.close();
    await shadow.close();
  });

  it('answers the client while the shadow copy is still unanswered', async () => {
    const base = `http://${dp.address('l')}`;
    const r = await httpRequest(`${base}/one`, { method: 'POST', body: 'payload', headers: { host: 'reviews:9080' } });
    expect([r.status, r.body]).toEqual([200, 'main /one']);
    expect(hung).toHaveLength(1);
    expect(hung[0].writableEnded).toBe(false);
    expect(shadow.requests[0]).toMatchObject({ url: '/one', body: 'payload' });
    expect(shadow.requests[0].headers.host).toBe('reviews-shadow:9080');
  });

  it('keeps answering while earlier shadow copies stay hung', async () => {
    const base = `http://${dp.address('l')}`;
    const replies = await Promise.all(['/a', '/b', '/c'].map((p) => httpRequest(`${base}${p}`)));
    expect(replies.map((r) => [r.status, r.body])).toEqual([
      [200, 'main /a'],
      [200, 'main /b'],
      [200, 'main /c'],
    ]);
    expect(hung).toHaveLength(4);
    expect(hung.every((res) => !res.writableEnded)).toBe(true);
    expect(dp.stats.value('cluster.m.upstream_rq_200')).toBe(4);
  });
});
