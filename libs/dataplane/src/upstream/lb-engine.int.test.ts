import http from 'node:http';
import { SequenceRandom, type Random } from '@tsmesh/core';
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

const routeYaml = (hashPolicy = '') => `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route: {cluster: c${hashPolicy ? `, hash_policy: [${hashPolicy}]` : ''}}
`;

/** Which upstream (by name) answered each key, over `rounds` passes over the keys. */
async function affinity(keys: string[], rounds: number, send: (key: string) => Promise<string>) {
  const seen = new Map<string, Set<string>>();
  for (let round = 0; round < rounds; round++) {
    for (const k of keys) {
      const body = await send(k);
      if (!seen.has(k)) seen.set(k, new Set());
      seen.get(k)?.add(body);
    }
  }
  return seen;
}

describe('load balancers through the engine with real upstreams', () => {
  let dp: Dataplane;
  const ups: TestUpstream[] = [];
  afterEach(async () => {
    await dp?.stop();
    await Promise.all(ups.splice(0).map((u) => u.close()));
  });

  async function start(addresses: string[], clusterExtra: string, hashPolicy = '', random?: Random): Promise<string> {
    dp = testEngine({ random });
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [routeYaml(hashPolicy)],
        clusters: [staticClusterYaml('c', addresses, clusterExtra)],
      }),
    );
    return `http://${dp.address('l')}`;
  }

  async function three(): Promise<TestUpstream[]> {
    for (const n of ['u1', 'u2', 'u3']) ups.push(await startUpstream(n));
    return ups;
  }

  it('LEAST_REQUEST sends new requests away from a host with requests in flight', async () => {
    const held: http.ServerResponse[] = [];
    const slow = await startUpstream('slow', (_q, res) => held.push(res));
    const fast = await startUpstream('fast');
    ups.push(slow, fast);
    // Each pick draws two hosts (choice_count 2); the draws alternate slow, fast.
    const base = await start(
      [slow.address, fast.address],
      'lb_policy: LEAST_REQUEST',
      '',
      new SequenceRandom([0, 0.9]),
    );
    const first = httpRequest(`${base}/`);
    await until(() => held.length === 1);
    expect(dp.stats.value('cluster.c.upstream_rq_active')).toBe(1);
    const bodies: string[] = [];
    for (let i = 0; i < 9; i++) bodies.push((await httpRequest(`${base}/`)).body);
    expect(bodies).toEqual(new Array(9).fill('fast'));
    expect(slow.requests).toHaveLength(1);
    held[0].end('slow');
    expect((await first).body).toBe('slow');
    // Both idle again: the tie goes to the first draw (slow), as in Envoy's P2C.
    const idle = httpRequest(`${base}/`);
    await until(() => held.length === 2);
    held[1].end('slow');
    expect((await idle).body).toBe('slow');
    expect(dp.stats.value('cluster.c.upstream_rq_total')).toBe(11);
    expect(dp.stats.value('cluster.c.upstream_rq_active')).toBe(0);
  });

  it('ROUND_ROBIN with the same traffic splits evenly (the contrast to LEAST_REQUEST)', async () => {
    const held: http.ServerResponse[] = [];
    const slow = await startUpstream('slow', (_q, res) => held.push(res));
    const fast = await startUpstream('fast');
    ups.push(slow, fast);
    const base = await start([slow.address, fast.address], 'lb_policy: ROUND_ROBIN');
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 6; i++) {
      const p = httpRequest(`${base}/`);
      pending.push(p);
      await until(() => held.length + fast.requests.length === i + 1);
    }
    expect([held.length, fast.requests.length]).toEqual([3, 3]);
    for (const r of held) r.end('slow');
    await Promise.all(pending);
  });

  it('RANDOM gives every host traffic over many requests', async () => {
    const [u1, u2, u3] = await three();
    const base = await start([u1.address, u2.address, u3.address], 'lb_policy: RANDOM');
    const counts: Record<string, number> = { u1: 0, u2: 0, u3: 0 };
    for (let i = 0; i < 60; i++) counts[(await httpRequest(`${base}/`)).body]++;
    // P(some host gets none of 60 uniform picks) = 3 × (2/3)^60 ≈ 1e-10.
    for (const n of ['u1', 'u2', 'u3']) expect(counts[n]).toBeGreaterThan(0);
    expect(counts['u1'] + counts['u2'] + counts['u3']).toBe(60);
    expect(dp.stats.value('cluster.c.upstream_rq_200')).toBe(60);
  });

  it('RANDOM follows the injected random draw', async () => {
    const [u1, u2, u3] = await three();
    const base = await start(
      [u1.address, u2.address, u3.address],
      'lb_policy: RANDOM',
      '',
      new SequenceRandom([0.9, 0.1, 0.5]),
    );
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) bodies.push((await httpRequest(`${base}/`)).body);
    expect(bodies).toEqual(['u3', 'u1', 'u2']);
  });

  it('RING_HASH by cookie keeps a session on one host and spreads sessions', async () => {
    const [u1, u2, u3] = await three();
    const base = await start(
      [u1.address, u2.address, u3.address],
      'lb_policy: RING_HASH',
      '{cookie: {name: session, ttl: 0s}}',
    );
    const keys = Array.from({ length: 12 }, (_, i) => `s-${i}`);
    const seen = await affinity(
      keys,
      3,
      async (k) => (await httpRequest(`${base}/`, { headers: { cookie: `other=1; session=${k}; x=y` } })).body,
    );
    for (const hosts of seen.values()) expect(hosts.size).toBe(1);
    expect(new Set([...seen.values()].map((s) => [...s][0])).size).toBeGreaterThan(1);
    expect(dp.stats.value('cluster.c.upstream_rq_total')).toBe(36);
  });

  it('RING_HASH by source IP keeps a client address on one host and spreads addresses', async () => {
    const [u1, u2, u3] = await three();
    const base = await start(
      [u1.address, u2.address, u3.address],
      'lb_policy: RING_HASH',
      '{connection_properties: {source_ip: true}}',
    );
    // Distinct loopback source addresses (Linux routes all of 127/8 to lo); a fresh connection each time.
    const keys = Array.from({ length: 12 }, (_, i) => `127.0.0.${i + 2}`);
    const seen = await affinity(keys, 3, async (ip) => {
      const agent = new http.Agent({ localAddress: ip } as http.AgentOptions);
      try {
        return (await httpRequest(`${base}/`, { agent })).body;
      } finally {
        agent.destroy();
      }
    });
    for (const hosts of seen.values()) expect(hosts.size).toBe(1);
    expect(new Set([...seen.values()].map((s) => [...s][0])).size).toBeGreaterThan(1);
    expect(dp.stats.value('cluster.c.upstream_rq_200')).toBe(36);
  });
});
