import { httpRequest } from '@tsmesh/testing';
import type { Dataplane } from './dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  yamlSnapshot,
  type TestUpstream,
} from './testing';

describe('Dataplane: HTTP proxying from Envoy YAML', () => {
  let dp: Dataplane;
  let a: TestUpstream;
  let b: TestUpstream;

  beforeAll(async () => {
    a = await startUpstream('a');
    b = await startUpstream('b');
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });
  afterEach(async () => {
    await dp?.stop();
  });

  const routes = `
name: r1
virtual_hosts:
- name: reviews
  domains: ["reviews", "reviews:9080"]
  routes:
  - match: {prefix: /v2, headers: [{name: end-user, string_match: {exact: jason}}]}
    route: {cluster: b}
  - match: {prefix: /api/}
    route: {cluster: a, prefix_rewrite: /internal/}
  - match: {safe_regex: {regex: "/items/[0-9]+"}}
    route: {cluster: b}
  - match: {prefix: /}
    route: {cluster: a}
    request_headers_to_add: [{header: {key: x-added, value: yes}}]
    response_headers_to_add: [{header: {key: x-resp, value: r}}]
- name: other
  domains: ["*.example.com"]
  routes:
  - match: {path: /exact}
    route: {cluster: b}
  - match: {prefix: /old}
    redirect: {path_redirect: /new, response_code: FOUND}
  - match: {prefix: /direct}
    direct_response: {status: 418, body: {inline_string: teapot}}
`;

  async function start(): Promise<string> {
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('ingress', 'r1')],
        routes: [routes],
        clusters: [staticClusterYaml('a', [a.address]), staticClusterYaml('b', [b.address])],
      }),
    );
    return `http://${dp.address('ingress')}`;
  }

  it('routes by host, path prefix, header and regex, rewrites prefixes and edits headers', async () => {
    const base = await start();
    const r1 = await httpRequest(`${base}/productpage`, { headers: { host: 'reviews:9080' } });
    expect(r1.status).toBe(200);
    expect(r1.body).toBe('a');
    expect(r1.headers['x-resp']).toBe('r');
    expect(r1.headers['x-envoy-upstream-service-time']).toMatch(/^\d+$/);
    const seen = a.requests[a.requests.length - 1];
    expect(seen.headers['x-added']).toBe('yes');
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.headers['x-envoy-expected-rq-timeout-ms']).toBe('15000');
    expect(seen.headers['host']).toBe('reviews:9080');

    expect((await httpRequest(`${base}/v2/x`, { headers: { host: 'reviews', 'end-user': 'jason' } })).body).toBe('b');
    expect((await httpRequest(`${base}/v2/x`, { headers: { host: 'reviews', 'end-user': 'mary' } })).body).toBe('a');
    expect((await httpRequest(`${base}/items/42`, { headers: { host: 'reviews' } })).body).toBe('b');
    expect((await httpRequest(`${base}/items/4x2`, { headers: { host: 'reviews' } })).body).toBe('a');

    await httpRequest(`${base}/api/v1/users?q=1`, { headers: { host: 'reviews' } });
    const rw = a.requests[a.requests.length - 1];
    expect(rw.url).toBe('/internal/v1/users?q=1');
    expect(rw.headers['x-envoy-original-path']).toBe('/api/v1/users?q=1');

    expect(dp.stats.value('cluster.a.upstream_rq_total')).toBeGreaterThanOrEqual(3);
    expect(dp.stats.value('cluster.a.upstream_rq_2xx')).toBe(dp.stats.value('cluster.a.upstream_rq_total'));
    expect(dp.stats.value('http.ingress.downstream_rq_total')).toBe(6);
    expect(dp.stats.value('http.ingress.downstream_rq_2xx')).toBe(6);
  });

  it('serves wildcard domains, redirects, direct responses and 404 NR', async () => {
    const base = await start();
    expect((await httpRequest(`${base}/exact`, { headers: { host: 'shop.example.com' } })).body).toBe('b');
    const red = await httpRequest(`${base}/old?x=1`, { headers: { host: 'shop.example.com' } });
    expect(red.status).toBe(302);
    expect(red.headers.location).toBe('http://shop.example.com/new?x=1');
    const dr = await httpRequest(`${base}/direct`, { headers: { host: 'shop.example.com' } });
    expect([dr.status, dr.body]).toEqual([418, 'teapot']);
    const nr = await httpRequest(`${base}/exact`, { headers: { host: 'unknown.org' } });
    expect([nr.status, nr.body]).toEqual([404, '']);
    expect(dp.stats.value('http.ingress.no_route')).toBe(1);
  });

  it('rejects an invalid snapshot as a whole with field-addressed errors and keeps the last good config', async () => {
    const base = await start();
    const bad = yamlSnapshot({
      listeners: [httpListenerYaml('ingress', 'r1')],
      routes: [
        `
name: r1
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {safe_regex: {regex: "(unclosed"}}
    route: {cluster: a}
`,
      ],
      clusters: [staticClusterYaml('a', [a.address])],
    });
    await expect(dp.apply(bad)).rejects.toThrow(
      /route configuration "r1": virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid RE2 regex/,
    );
    expect(dp.validate('type.googleapis.com/envoy.config.route.v3.RouteConfiguration', bad.routes)).toHaveLength(1);
    expect((await httpRequest(`${base}/x`, { headers: { host: 'reviews' } })).body).toBe('a');
  });

  it('forwards absolute-form requests of apps using the listener as their HTTP proxy', async () => {
    const base = await start();
    const r = await httpRequest('http://reviews:9080/items/7', { proxy: base });
    expect(r.body).toBe('b');
    expect(b.requests[b.requests.length - 1].url).toBe('/items/7');
    expect(b.requests[b.requests.length - 1].headers.host).toBe('reviews:9080');
  });
});
