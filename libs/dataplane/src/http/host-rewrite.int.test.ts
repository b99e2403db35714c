import { httpRequest } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  yamlSnapshot,
  type TestUpstream,
} from '../engine/testing';

/** One route to cluster `c` with the given extra route-action fields. */
const routeYaml = (action: string) => `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route: {cluster: c, ${action}}
`;

describe('router: authority rewrite (host_rewrite_literal, auto_host_rewrite)', () => {
  let dp: Dataplane;
  let up: TestUpstream;
  beforeAll(async () => {
    up = await startUpstream('u');
  });
  afterAll(() => up.close());
  afterEach(async () => {
    await dp?.stop();
    up.requests.splice(0);
  });

  async function start(action: string, cluster: string): Promise<string> {
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({ listeners: [httpListenerYaml('l', 'r')], routes: [routeYaml(action)], clusters: [cluster] }),
    );
    return `http://${dp.address('l')}`;
  }

  it('sends the literal host upstream and leaves x-forwarded-host alone unless append_x_forwarded_host', async () => {
    const base = await start('host_rewrite_literal: ratings.prod:9080', staticClusterYaml('c', [up.address]));
    const r = await httpRequest(`${base}/a`, { headers: { host: 'reviews:9080' } });
    expect([r.status, r.body]).toEqual([200, 'u']);
    expect(up.requests[0].headers.host).toBe('ratings.prod:9080');
    expect(up.requests[0].headers['x-forwarded-host']).toBeUndefined();
    expect(dp.stats.value('cluster.c.upstream_rq_200')).toBe(1);

    await dp.stop();
    const base2 = await start(
      'host_rewrite_literal: ratings.prod:9080, append_x_forwarded_host: true',
      staticClusterYaml('c', [up.address]),
    );
    await httpRequest(`${base2}/b`, { headers: { host: 'reviews:9080' } });
    expect(up.requests[1].headers.host).toBe('ratings.prod:9080');
    expect(up.requests[1].headers['x-forwarded-host']).toBe('reviews:9080');
  });

  it('auto_host_rewrite uses the chosen endpoint hostname (STATIC endpoint `hostname`)', async () => {
    const cluster = staticClusterYaml('c', [up.address]).replace(
      'endpoint: {address:',
      'endpoint: {hostname: reviews.default.svc.cluster.local, address:',
    );
    const base = await start('auto_host_rewrite: true', cluster);
    const r = await httpRequest(`${base}/x`, { headers: { host: 'reviews:9080' } });
    expect([r.status, r.body]).toEqual([200, 'u']);
    expect(up.requests[0].headers.host).toBe('reviews.default.svc.cluster.local');
    expect(dp.stats.value('cluster.c.upstream_rq_total')).toBe(1);
  });

  it('auto_host_rewrite uses the DNS name of a STRICT_DNS endpoint', async () => {
    const cluster = staticClusterYaml('c', [up.address]).replace('type: STATIC', 'type: STRICT_DNS');
    const base = await start('auto_host_rewrite: true', cluster);
    await httpRequest(`${base}/x`, { headers: { host: 'reviews:9080' } });
    expect(up.requests[0].headers.host).toBe('127.0.0.1');
  });

  it('auto_host_rewrite keeps the downstream authority when the endpoint has no hostname', async () => {
    const base = await start('auto_host_rewrite: true', staticClusterYaml('c', [up.address]));
    await httpRequest(`${base}/x`, { headers: { host: 'reviews:9080' } });
    expect(up.requests[0].headers.host).toBe('reviews:9080');
    expect(dp.stats.value('cluster.c.upstream_rq_200')).toBe(1);
  });
});
