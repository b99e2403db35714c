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

describe('route matching by method and query, ring-hash affinity, ORIGINAL_DST', () => {
  let dp: Dataplane;
  const ups: TestUpstream[] = [];
  beforeAll(async () => {
    for (const n of ['u1', 'u2', 'u3']) ups.push(await startUpstream(n));
  });
  afterAll(async () => {
    await Promise.all(ups.map((u) => u.close()));
  });
  afterEach(() => dp?.stop());

  it('matches :method and query parameters', async () => {
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [
          `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /, headers: [{name: ":method", string_match: {exact: POST}}]}
    route: {cluster: u2}
  - match: {prefix: /, query_parameters: [{name: beta, string_match: {exact: "1"}}]}
    route: {cluster: u3}
  - match: {prefix: /}
    route: {cluster: u1}
`,
        ],
        clusters: ups.map((u, i) => staticClusterYaml(`u${i + 1}`, [u.address])),
      }),
    );
    const base = `http://${dp.address('l')}`;
    expect((await httpRequest(`${base}/x`, { method: 'POST', body: 'b' })).body).toBe('u2');
    expect((await httpRequest(`${base}/x?beta=1`)).body).toBe('u3');
    expect((await httpRequest(`${base}/x?beta=2`)).body).toBe('u1');
  });

  it('keeps a user on one host with RING_HASH and a header hash_policy', async () => {
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [
          `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route: {cluster: ring, hash_policy: [{header: {header_name: x-user}}]}
`,
        ],
        clusters: [
          staticClusterYaml(
            'ring',
            ups.map((u) => u.address),
            'lb_policy: RING_HASH',
          ),
        ],
      }),
    );
    const base = `http://${dp.address('l')}`;
    const seen = new Map<string, Set<string>>();
    for (let round = 0; round < 3; round++) {
      for (let user = 0; user < 12; user++) {
        const body = (await httpRequest(`${base}/`, { headers: { 'x-user': `user-${user}` } })).body;
        if (!seen.has(`user-${user}`)) seen.set(`user-${user}`, new Set());
        seen.get(`user-${user}`)?.add(body);
      }
    }
    for (const hosts of seen.values()) expect(hosts.size).toBe(1);
    expect(new Set([...seen.values()].map((s) => [...s][0])).size).toBeGreaterThan(1);
  });

  it('forwards to the requested address with an ORIGINAL_DST cluster (PassthroughCluster)', async () => {
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [
          `name: r\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: PassthroughCluster}}]}]`,
        ],
        clusters: [`name: PassthroughCluster\ntype: ORIGINAL_DST\nlb_policy: CLUSTER_PROVIDED\nconnect_timeout: 1s`],
      }),
    );
    const r = await httpRequest(`http://${ups[2].address}/direct`, { proxy: `http://${dp.address('l')}` });
    expect(r.body).toBe('u3');
  });
});
