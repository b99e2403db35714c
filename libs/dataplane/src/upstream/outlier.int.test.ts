import { FakeClock, SequenceRandom } from '@tsmesh/core';
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

const ROUTES = `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route: {cluster: c}
`;

describe('outlier detection through the engine (fake clock)', () => {
  let dp: Dataplane;
  let clock: FakeClock;
  const ups: TestUpstream[] = [];
  afterEach(async () => {
    await dp?.stop();
    await Promise.all(ups.splice(0).map((u) => u.close()));
  });

  async function start(addresses: string[], outlier: string): Promise<string> {
    clock = new FakeClock();
    dp = testEngine({ clock, random: new SequenceRandom([0]) });
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [ROUTES],
        clusters: [staticClusterYaml('c', addresses, `outlier_detection: ${outlier}`)],
      }),
    );
    return `http://${dp.address('l')}`;
  }

  /** An upstream answering 500 while `failing.on`, else 200 with its name. */
  async function flaky(name: string, failing: { on: boolean }): Promise<TestUpstream> {
    const u = await startUpstream(name, (_q, res) => {
      res.writeHead(failing.on ? 500 : 200);
      res.end(name);
    });
    ups.push(u);
    return u;
  }

  const stat = (n: string) => dp.stats.value(`cluster.c.outlier_detection.${n}`);
  const health = (u: TestUpstream) => dp.clusters()[0].hosts.find((h) => h.address === u.address)?.healthFlags;

  /** Sends requests until `u` has seen `n` requests in all (round robin reaches it every other one). */
  async function driveTo(base: string, u: TestUpstream, n: number): Promise<void> {
    for (let i = 0; i < 10 && u.requests.length < n; i++) await httpRequest(`${base}/`);
    expect(u.requests).toHaveLength(n);
  }

  it('ejects a second time for base_ejection_time × 2 and counts ejections_active', async () => {
    const failing = { on: true };
    const bad = await flaky('bad', failing);
    const good = await flaky('good', { on: false });
    const base = await start(
      [bad.address, good.address],
      '{consecutive_5xx: 2, interval: 10s, base_ejection_time: 30s, max_ejection_percent: 100}',
    );
    await driveTo(base, bad, 2);
    expect(stat('ejections_active')).toBe(1);
    expect(health(bad)).toBe('/failed_outlier_check');
    clock.advance(29_999);
    expect(stat('ejections_active')).toBe(1);
    clock.advance(1); // sweep at 30 s: 30 s × 1 served
    expect(stat('ejections_active')).toBe(0);
    expect(health(bad)).toBe('healthy');

    await driveTo(base, bad, 4); // ejected again at t = 30 s
    expect(stat('ejections_active')).toBe(1);
    expect(stat('ejections_enforced_total')).toBe(2);
    expect(stat('ejections_enforced_consecutive_5xx')).toBe(2);
    clock.advance(50_000); // t = 80 s: a first-time ejection would be over, this one lasts 60 s
    expect(stat('ejections_active')).toBe(1);
    expect(health(bad)).toBe('/failed_outlier_check');
    const during: string[] = [];
    for (let i = 0; i < 4; i++) during.push((await httpRequest(`${base}/`)).body);
    expect(during).toEqual(['good', 'good', 'good', 'good']);
    clock.advance(10_000); // sweep at 90 s = 30 s + 2 × 30 s
    expect(stat('ejections_active')).toBe(0);
    failing.on = false;
    const after = new Set<string>();
    for (let i = 0; i < 2; i++) after.add((await httpRequest(`${base}/`)).body);
    expect([...after].sort()).toEqual(['bad', 'good']);
  });

  it('brings a host back only at an interval sweep, not at the exact ejection end', async () => {
    const bad = await flaky('bad', { on: true });
    const good = await flaky('good', { on: false });
    const base = await start(
      [bad.address, good.address],
      '{consecutive_5xx: 1, interval: 10s, base_ejection_time: 30s, max_ejection_percent: 100}',
    );
    clock.advance(5_000);
    await driveTo(base, bad, 1); // ejected at t = 5 s, due back at 35 s
    expect(stat('ejections_active')).toBe(1);
    clock.advance(30_000); // t = 35 s: sweeps ran at 10, 20, 30 s only
    expect(stat('ejections_active')).toBe(1);
    expect(health(bad)).toBe('/failed_outlier_check');
    clock.advance(4_999);
    expect(stat('ejections_active')).toBe(1);
    clock.advance(1); // sweep at 40 s
    expect(stat('ejections_active')).toBe(0);
    expect(health(bad)).toBe('healthy');
  });

  it('max_ejection_percent caps the hosts ejected at once; the rest overflow', async () => {
    const hosts: TestUpstream[] = [];
    for (const n of ['u1', 'u2', 'u3', 'u4']) hosts.push(await flaky(n, { on: true }));
    const base = await start(
      hosts.map((h) => h.address),
      '{consecutive_5xx: 1, interval: 10s, base_ejection_time: 30s, max_ejection_percent: 50}',
    );
    for (let i = 0; i < 8; i++) expect((await httpRequest(`${base}/`)).status).toBe(500);
    expect(stat('ejections_active')).toBe(2);
    expect(stat('ejections_enforced_total')).toBe(2);
    expect(stat('ejections_overflow')).toBeGreaterThanOrEqual(2);
    expect(stat('ejections_detected_consecutive_5xx')).toBe(
      stat('ejections_enforced_consecutive_5xx') + stat('ejections_overflow'),
    );
    expect(hosts.filter((h) => health(h) === '/failed_outlier_check')).toHaveLength(2);
    expect(dp.stats.value('cluster.c.membership_healthy')).toBe(2);
    expect(dp.stats.value('cluster.c.membership_total')).toBe(4);
  });

  /** `n` always-failing hosts, consecutive_5xx 1 plus `extra` outlier fields; round robin hits every host twice. */
  async function allFailing(n: number, extra: string): Promise<TestUpstream[]> {
    const hosts: TestUpstream[] = [];
    for (let i = 1; i <= n; i++) hosts.push(await flaky(`u${i}`, { on: true }));
    const base = await start(
      hosts.map((h) => h.address),
      `{consecutive_5xx: 1, interval: 10s, base_ejection_time: 30s${extra}}`,
    );
    for (let i = 0; i < 2 * n; i++) expect((await httpRequest(`${base}/`)).status).toBe(500);
    return hosts;
  }
  const ejected = (hosts: TestUpstream[]) => hosts.filter((h) => health(h) === '/failed_outlier_check').length;

  it('4 hosts at 40 %: one ejection (25 %); a second would make 50 % and overflows (Envoy v3 rule)', async () => {
    const hosts = await allFailing(4, ', max_ejection_percent: 40');
    expect(stat('ejections_active')).toBe(1);
    expect(ejected(hosts)).toBe(1);
    expect(stat('ejections_enforced_total')).toBe(1);
    expect(stat('ejections_overflow')).toBe(stat('ejections_detected_consecutive_5xx') - 1);
    expect(stat('ejections_overflow')).toBeGreaterThanOrEqual(3);
    expect(dp.stats.value('cluster.c.membership_healthy')).toBe(3);
  });

  it('3 hosts at the default 10 %: no host is ejected, since one would already be 33 %', async () => {
    const hosts = await allFailing(3, '');
    expect(stat('ejections_active')).toBe(0);
    expect(ejected(hosts)).toBe(0);
    expect(stat('ejections_enforced_total')).toBe(0);
    expect(stat('ejections_total')).toBe(0);
    expect(stat('ejections_overflow')).toBe(stat('ejections_detected_consecutive_5xx'));
    expect(stat('ejections_overflow')).toBe(6);
    expect(dp.stats.value('cluster.c.membership_healthy')).toBe(3);
  });

  it('always_eject_one_host: 3 hosts at 10 % eject exactly one, the others overflow', async () => {
    const hosts = await allFailing(3, ', always_eject_one_host: true');
    expect(stat('ejections_active')).toBe(1);
    expect(ejected(hosts)).toBe(1);
    expect(stat('ejections_enforced_total')).toBe(1);
    expect(stat('ejections_overflow')).toBe(stat('ejections_detected_consecutive_5xx') - 1);
  });

  it('always_eject_one_host with 4 hosts at 40 % still caps the second ejection', async () => {
    const hosts = await allFailing(4, ', max_ejection_percent: 40, always_eject_one_host: {value: true}');
    expect(stat('ejections_active')).toBe(1);
    expect(ejected(hosts)).toBe(1);
  });

  it('a refused (overflowing) ejection counts only ejections_overflow, whatever enforcing says', async () => {
    await allFailing(3, ', enforcing_consecutive_5xx: 0');
    expect(stat('ejections_total')).toBe(0);
    expect(stat('ejections_enforced_total')).toBe(0);
    expect(stat('ejections_overflow')).toBe(6);
  });

  it('a detection within the cap but not enforced counts ejections_total, not enforced', async () => {
    await allFailing(4, ', max_ejection_percent: 40, enforcing_consecutive_5xx: 0');
    expect(stat('ejections_active')).toBe(0);
    expect(stat('ejections_enforced_total')).toBe(0);
    expect(stat('ejections_overflow')).toBe(0);
    expect(stat('ejections_total')).toBe(8);
  });
});
