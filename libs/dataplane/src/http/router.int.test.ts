import type http from 'node:http';
import { FakeClock, SequenceRandom } from '@tsmesh/core';
import { freePort, httpRequest } from '@tsmesh/testing';
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
import type { StreamInfo } from './stream-info';

function routeYaml(route: string, extraRoutes = ''): string {
  return `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
${extraRoutes}
  - match: {prefix: /}
    route: ${route}
`;
}

describe('router: retries, timeouts, weighted clusters, mirroring', () => {
  let dp: Dataplane;
  const upstreams: TestUpstream[] = [];
  let clock: FakeClock;
  let infos: StreamInfo[];

  async function up(name: string, handler?: (req: unknown, res: http.ServerResponse) => void): Promise<TestUpstream> {
    const u = await startUpstream(name, handler);
    upstreams.push(u);
    return u;
  }
  async function start(
    route: string,
    clusters: string[],
    opts: { random?: number[]; extraRoutes?: string } = {},
  ): Promise<string> {
    clock = new FakeClock();
    dp = testEngine({ clock, random: new SequenceRandom(opts.random ?? [0]) });
    infos = [];
    dp.onStreamComplete((i) => infos.push(i));
    await dp.apply(
      yamlSnapshot({ listeners: [httpListenerYaml('l', 'r')], routes: [routeYaml(route, opts.extraRoutes)], clusters }),
    );
    return `http://${dp.address('l')}`;
  }
  afterEach(async () => {
    await dp?.stop();
    await Promise.all(upstreams.splice(0).map((u) => u.close()));
  });

  const fail503 = (_req: unknown, res: http.ServerResponse) => {
    res.writeHead(503);
    res.end('bad');
  };

  it('retries a 5xx on another host with x-envoy-attempt-count and counts upstream_rq_retry', async () => {
    const bad = await up('bad', fail503);
    const good = await up('good');
    const base = await start('{cluster: c, retry_policy: {retry_on: 5xx, num_retries: 2}}', [
      staticClusterYaml('c', [bad.address, good.address]),
    ]);
    const r = await pump(clock, httpRequest(`${base}/`));
    expect([r.status, r.body]).toEqual([200, 'good']);
    expect(bad.requests).toHaveLength(1);
    expect(good.requests[0].headers['x-envoy-attempt-count']).toBe('2');
    expect(dp.stats.value('cluster.c.upstream_rq_retry')).toBe(1);
    expect(dp.stats.value('cluster.c.upstream_rq_retry_success')).toBe(1);
    expect(dp.stats.value('cluster.c.upstream_rq_503')).toBe(1);
    expect(dp.stats.value('cluster.c.upstream_rq_200')).toBe(1);
    await until(() => infos.length === 1);
    expect(infos[0].attemptCount).toBe(2);
  });

  it('waits a fully jittered backoff from 25 ms before a retry (fake clock)', async () => {
    const bad = await up('bad', fail503);
    const good = await up('good');
    const base = await start(
      '{cluster: c, retry_policy: {retry_on: 5xx, num_retries: 2}}',
      [staticClusterYaml('c', [bad.address, good.address])],
      {
        random: [0.5],
      },
    );
    const p = httpRequest(`${base}/`);
    await until(() => bad.requests.length === 1);
    await new Promise((r) => setTimeout(r, 30));
    expect(good.requests).toHaveLength(0);
    clock.advance(12); // 0.5 × 25 ms = 12.5 ms
    await new Promise((r) => setTimeout(r, 30));
    expect(good.requests).toHaveLength(0);
    clock.advance(1);
    expect((await p).body).toBe('good');
  });

  it('returns the last upstream answer with URX when retries are exhausted', async () => {
    const bad = await up('bad', fail503);
    const base = await start('{cluster: c, retry_policy: {retry_on: "gateway-error", num_retries: 2}}', [
      staticClusterYaml('c', [bad.address]),
    ]);
    const r = await pump(clock, httpRequest(`${base}/`));
    expect([r.status, r.body]).toEqual([503, 'bad']);
    expect(bad.requests).toHaveLength(3);
    expect(dp.stats.value('cluster.c.upstream_rq_retry')).toBe(2);
    expect(dp.stats.value('cluster.c.upstream_rq_retry_limit_exceeded')).toBe(1);
    await until(() => infos.length === 1);
    expect(infos[0].responseFlags).toContain('URX');
  });

  it('retries a 409 under retriable-4xx', async () => {
    let n = 0;
    const u = await up('u', (_q, res) => {
      res.writeHead(n++ === 0 ? 409 : 200);
      res.end('x');
    });
    const base = await start('{cluster: c, retry_policy: {retry_on: "retriable-4xx", num_retries: 1}}', [
      staticClusterYaml('c', [u.address]),
    ]);
    expect((await pump(clock, httpRequest(`${base}/`))).status).toBe(200);
    expect(u.requests).toHaveLength(2);
  });

  it('retries connect failures on another host; without retries answers 503 UF', async () => {
    const good = await up('good');
    const dead = `127.0.0.1:${await freePort()}`;
    const base = await start(
      '{cluster: c, retry_policy: {retry_on: connect-failure, num_retries: 1}}',
      [staticClusterYaml('c', [dead, good.address])],
      {
        extraRoutes: `  - match: {prefix: /noretry}\n    route: {cluster: d}`,
      },
    );
    const r = await pump(clock, httpRequest(`${base}/`));
    expect(r.body).toBe('good');
    expect(dp.stats.value('cluster.c.upstream_cx_connect_fail')).toBe(1);
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [routeYaml('{cluster: d}')],
        clusters: [staticClusterYaml('d', [dead])],
      }),
    );
    const f = await pump(clock, httpRequest(`${base}/`));
    expect(f.status).toBe(503);
    expect(f.body).toBe('upstream connect error or disconnect/reset before headers. reset reason: connection failure');
    await until(() => infos.length === 2);
    expect(infos[1].responseFlags).toEqual(['UF']);
  });

  it('times out a slow upstream at the route timeout with 504 UT (fake clock)', async () => {
    const slow = await up('slow', () => undefined);
    const base = await start('{cluster: c, timeout: 2s}', [staticClusterYaml('c', [slow.address])]);
    const p = httpRequest(`${base}/`);
    await until(() => slow.requests.length === 1);
    expect(slow.requests[0].headers['x-envoy-expected-rq-timeout-ms']).toBe('2000');
    clock.advance(1999);
    await new Promise((r) => setTimeout(r, 5));
    clock.advance(1);
    const r = await p;
    expect([r.status, r.body]).toEqual([504, 'upstream request timeout']);
    expect(dp.stats.value('cluster.c.upstream_rq_timeout')).toBe(1);
    await until(() => infos.length === 1);
    expect(infos[0].responseFlags).toContain('UT');
  });

  it('retries after a per-try timeout on another host', async () => {
    const slow = await up('slow', () => undefined);
    const good = await up('good');
    const base = await start(
      '{cluster: c, timeout: 10s, retry_policy: {retry_on: 5xx, num_retries: 1, per_try_timeout: 0.5s}}',
      [staticClusterYaml('c', [slow.address, good.address])],
    );
    const r = await pump(clock, httpRequest(`${base}/`), 50);
    expect(r.body).toBe('good');
    expect(dp.stats.value('cluster.c.upstream_rq_per_try_timeout')).toBe(1);
    expect(slow.requests[0].headers['x-envoy-expected-rq-timeout-ms']).toBe('500');
  });

  it('honours x-envoy-retry-on / x-envoy-max-retries from a trusted client and strips them upstream', async () => {
    let n = 0;
    const u = await up('u', (_q, res) => {
      res.writeHead(n++ < 2 ? 500 : 200);
      res.end('x');
    });
    const base = await start('{cluster: c}', [staticClusterYaml('c', [u.address])]);
    const r = await pump(
      clock,
      httpRequest(`${base}/`, { headers: { 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '2' } }),
    );
    expect(r.status).toBe(200);
    expect(u.requests).toHaveLength(3);
    expect(u.requests[0].headers['x-envoy-retry-on']).toBeUndefined();
  });

  it('splits traffic over weighted clusters by the injected random draw', async () => {
    const v1 = await up('v1');
    const v2 = await up('v2');
    const base = await start(
      '{weighted_clusters: {clusters: [{name: v1, weight: 75}, {name: v2, weight: 25}]}}',
      [staticClusterYaml('v1', [v1.address]), staticClusterYaml('v2', [v2.address])],
      { random: [0.1, 0.8, 0.74, 0.75] },
    );
    const bodies: string[] = [];
    for (let i = 0; i < 4; i++) bodies.push((await httpRequest(`${base}/`)).body);
    expect(bodies).toEqual(['v1', 'v2', 'v1', 'v2']);
  });

  it('mirrors requests fire-and-forget to the shadow cluster with a -shadow host', async () => {
    const main = await up('main');
    const shadow = await up('shadow', (_q, res) => {
      res.writeHead(500);
      res.end();
    });
    const base = await start('{cluster: m, request_mirror_policies: [{cluster: s}]}', [
      staticClusterYaml('m', [main.address]),
      staticClusterYaml('s', [shadow.address]),
    ]);
    const r = await httpRequest(`${base}/p`, { method: 'POST', body: 'hello', headers: { host: 'reviews:9080' } });
    expect([r.status, r.body]).toEqual([200, 'main']);
    await until(() => shadow.requests.length === 1);
    expect(shadow.requests[0].headers.host).toBe('reviews-shadow:9080');
    expect(shadow.requests[0].body).toBe('hello');
    expect(main.requests[0].body).toBe('hello');
  });

  it('answers 503 NC for an unknown cluster and 503 UH for a cluster without hosts', async () => {
    const base = await start('{cluster: missing}', [staticClusterYaml('empty', [])], {
      extraRoutes: `  - match: {prefix: /empty}\n    route: {cluster: empty}`,
    });
    expect((await httpRequest(`${base}/x`)).status).toBe(503);
    const uh = await httpRequest(`${base}/empty`);
    expect([uh.status, uh.body]).toEqual([503, 'no healthy upstream']);
    expect(dp.stats.value('http.l.no_cluster')).toBe(1);
  });
});
