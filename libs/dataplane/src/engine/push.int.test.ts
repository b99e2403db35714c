import http from 'node:http';
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
import type { Snapshot } from './types';

const EDS_CLUSTER = `
name: "outbound|9080|v1|reviews.default.svc.cluster.local"
type: EDS
connect_timeout: 1s
eds_cluster_config: {eds_config: {ads: {}}, service_name: "outbound|9080|v1|reviews.default.svc.cluster.local"}
`;
const cla = (addresses: string[], unhealthy: string[] = []) => `
cluster_name: "outbound|9080|v1|reviews.default.svc.cluster.local"
endpoints:
- lb_endpoints:
${addresses
  .map((a) => {
    const [h, p] = a.split(':');
    return `  - endpoint: {address: {socket_address: {address: ${h}, port_value: ${p}}}}${unhealthy.includes(a) ? '\n    health_status: UNHEALTHY' : ''}`;
  })
  .join('\n')}
`;
const ROUTES = (cluster: string, cors = '') => `
name: "9080"
virtual_hosts:
- name: "reviews.default.svc.cluster.local:9080"
  domains: ["reviews.default.svc.cluster.local", "reviews", "reviews:9080"]
${cors}
  routes:
  - match: {prefix: /}
    route: {cluster: "${cluster}"}
`;

describe('pushes: EDS, cluster and listener reuse, CORS', () => {
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
  afterEach(() => dp?.stop());

  function snap(endpoints: string, routes = ROUTES('outbound|9080|v1|reviews.default.svc.cluster.local')): Snapshot {
    return yamlSnapshot({
      listeners: [
        httpListenerYaml('virtualOutbound', '9080', [
          '- name: envoy.filters.http.cors\n  typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors}',
        ]),
      ],
      routes: [routes],
      clusters: [EDS_CLUSTER],
      endpoints: [endpoints],
    });
  }

  it('uses EDS endpoints, skips unhealthy ones and follows endpoint pushes on the same listener', async () => {
    dp = testEngine();
    await dp.apply(snap(cla([a.address, b.address], [b.address])), { version: '1' });
    const addr = dp.address('virtualOutbound');
    const url = `http://${addr}/reviews/1`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const bodies = [];
    for (let i = 0; i < 3; i++)
      bodies.push((await httpRequest(url, { headers: { host: 'reviews:9080' }, agent })).body);
    expect(bodies).toEqual(['a', 'a', 'a']);
    const cluster = dp.cluster('outbound|9080|v1|reviews.default.svc.cluster.local');
    await dp.apply(snap(cla([b.address])), { version: '2' });
    expect(dp.address('virtualOutbound')).toBe(addr);
    expect(dp.cluster('outbound|9080|v1|reviews.default.svc.cluster.local')).toBe(cluster);
    // The kept-alive connection still works and sees the new endpoints.
    expect((await httpRequest(url, { headers: { host: 'reviews:9080' }, agent })).body).toBe('b');
    expect(dp.stats.value('cluster.outbound|9080|v1|reviews.default.svc.cluster.local.membership_total')).toBe(1);
    const dump = dp.configDump();
    expect(dump['configs'][0]['dynamic_active_clusters'][0]['version_info']).toBe('2');
    expect(dp.clusters()[0].hosts.map((h) => h.address)).toEqual([b.address]);
    agent.destroy();
  });

  it('removes a listener on push and drains it', async () => {
    dp = testEngine();
    await dp.apply(snap(cla([a.address])));
    const addr = dp.address('virtualOutbound') as string;
    await dp.apply({ ...snap(cla([a.address])), listeners: [] });
    expect(dp.listeners()).toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    await expect(httpRequest(`http://${addr}/`)).rejects.toThrow();
  });

  it('answers CORS preflights locally and decorates allowed responses (route cors policy)', async () => {
    dp = testEngine();
    const cors = `  cors:
    allow_origin_string_match: [{exact: "https://shop.example.com"}]
    allow_methods: GET,POST
    allow_headers: content-type
    max_age: "600"`;
    await dp.apply(snap(cla([a.address]), ROUTES('outbound|9080|v1|reviews.default.svc.cluster.local', cors)));
    const url = `http://${dp.address('virtualOutbound')}/reviews/1`;
    const pre = await httpRequest(url, {
      method: 'OPTIONS',
      headers: { host: 'reviews', origin: 'https://shop.example.com', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(200);
    expect(pre.headers['access-control-allow-methods']).toBe('GET,POST');
    expect(pre.headers['access-control-max-age']).toBe('600');
    const ok = await httpRequest(url, { headers: { host: 'reviews', origin: 'https://shop.example.com' } });
    expect(ok.headers['access-control-allow-origin']).toBe('https://shop.example.com');
    const bad = await httpRequest(url, { headers: { host: 'reviews', origin: 'https://evil.example.com' } });
    expect(bad.headers['access-control-allow-origin']).toBeUndefined();
    expect(dp.stats.value('http.virtualOutbound.cors.origin_invalid')).toBe(1);
  });

  it('resolves STRICT_DNS clusters (localhost)', async () => {
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [
          `name: r\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: dns}}]}]`,
        ],
        clusters: [staticClusterYaml('dns', [`localhost:${a.port}`]).replace('type: STATIC', 'type: STRICT_DNS')],
      }),
    );
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await httpRequest(`http://${dp.address('l')}/`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 10));
    }
    expect(status).toBe(200);
  });
});
