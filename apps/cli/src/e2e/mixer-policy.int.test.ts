// Mixer policy through the running mesh (its own `tsmesh up`, as mixer.int.test.ts): Istio 1.0's
// whitelist (listchecker + listentry: ratings answers only reviews v2), a redisquota rate limit on
// productpage against a private Redis (429 beyond 3 per window, recovers after it; Redis killed
// mid-test → granted under Mixer's default `--redis-unavailable grant`, and counted; `deny` is
// checked at the adapter level in redisquota.int.test.ts), then the mesh switched to
// `policyCheckFailOpen: true` and the policy Mixer killed → requests still answered 200.
//
// The shared Redis at REDIS_URL is never touched: this test runs its own `redis-server` on a free
// loopback port and kills that one.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from '@tsmesh/protocol';
import { hasRedisServer, startRedisServer, type RedisServer } from '@tsmesh/testing';
import { eventually, request, ROOT, skipNotice, startMesh, tsmesh } from './mesh';

jest.setTimeout(300_000);
const { mesh, reason } = startMesh('mixer-policy', {
  needed: ['pilot', 'proxy', 'gateway', 'mixer'],
  extraArgs: ['--manifests', 'apps/cli/src/e2e/bookinfo-mesh', '--without', 'citadel'],
});
if (reason) skipNotice('mixer policy e2e', reason);
const d = mesh ? describe : describe.skip;
const m = mesh as NonNullable<typeof mesh>;

interface Proc {
  name: string;
  ip: string;
  pid: number | null;
}
const procs = (): Proc[] => (JSON.parse(tsmesh(m.stateDir, 'status', '--json').out) as { processes: Proc[] }).processes;
const proc = (name: string): Proc => {
  const p = procs().find((x) => x.name === name);
  if (!p) throw new Error(`no process ${name}`);
  return p;
};
const policyConfig = () => request(`http://${proc('istio-policy').ip}:15014/debug/config`).then((r) => r.body);
const stat = async (deployment: string, name: string): Promise<number> => {
  const body = (await request(`${m.entry(deployment, 15000)}/stats`)).body;
  return Number(new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(body)?.[1] ?? 0);
};

/** x-istio-attributes as reviews' sidecar would forward them (base64 istio.mixer.v1.Attributes). */
const fromReviews = (version: string) =>
  encode('istio.mixer.v1.Attributes', {
    attributes: { 'source.labels': { string_map_value: { entries: { app: 'reviews', version } } } },
  }).toString('base64');

let redis: RedisServer | undefined;
afterAll(async () => {
  await redis?.kill();
  mesh?.down();
});

d('Mixer policy in the running mesh', () => {
  // resolved once: every `tsmesh status` is a process start, and addresses do not change
  let productpageUrl = '';
  const productpage = () => request((productpageUrl ||= `${m.entry('productpage-v1', 9080)}/productpage`));

  test('whitelist: ratings answers reviews v2 only; v3 gets 404 NOT_FOUND "v3 is not whitelisted" (UAEX)', async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/policy/mixer-rule-ratings-whitelist.yaml').code).toBe(0);
    await eventually(policyConfig, (b) => b.includes('checkversion.rule.default'), 30_000);
    const ratings = (version: string) =>
      request(`${m.entry('ratings-v1', 9080)}/ratings/0`, { headers: { 'x-istio-attributes': fromReviews(version) } });
    const v3 = await eventually(
      () => ratings('v3'),
      (r) => r.status === 404,
      30_000,
    );
    expect(v3.body).toBe('NOT_FOUND:whitelist.listchecker.default:v3 is not whitelisted');
    const v2 = await ratings('v2');
    expect(v2.status).toBe(200);
    expect(v2.body).toContain('"ratings"');
    // and through the real callers: reviews v3 loses its stars, v2 keeps them
    const viaV3 = await eventually(
      () => request(`${m.entry('reviews-v3', 9080)}/reviews/0`),
      (r) => r.status === 200 && r.body.includes('Ratings service is currently unavailable'),
      30_000,
    );
    expect(viaV3.body).toContain('Ratings service is currently unavailable');
    const viaV2 = await request(`${m.entry('reviews-v2', 9080)}/reviews/0`);
    expect(viaV2.body).toContain('"stars"');
    expect(await stat('ratings-v1', 'http_mixer_filter.total_remote_check_denies')).toBeGreaterThan(0);
  });

  test('redisquota: 3 productpage requests per window, 429 beyond, recovers; Redis killed → fail open, counted', async () => {
    if (!hasRedisServer()) {
      if (process.env['TSMESH_E2E_STRICT'] === '1') throw new Error('no redis-server binary on the PATH');
      skipNotice('mixer policy e2e, redisquota', 'no redis-server binary on the PATH');
      return;
    }
    redis = await startRedisServer();
    const sample = readFileSync(join(ROOT, 'samples/bookinfo/policy/mixer-rule-productpage-redis-quota.yaml'), 'utf8');
    const file = join(m.stateDir, 'redis-quota.yaml');
    writeFileSync(file, sample.replace('redis-release-master:6379', `127.0.0.1:${redis.port}`));
    expect(tsmesh(m.stateDir, 'apply', '-f', file).code).toBe(0);
    await eventually(policyConfig, (b) => b.includes('handler.redisquota.istio-system'), 30_000);
    await eventually(
      () => request(`${m.entry('productpage-v1', 15000)}/config_dump`).then((r) => r.body),
      (b) => /"quota":\s*"requestcount"/.test(b),
      30_000,
    );
    const statuses: number[] = [];
    let denied = '';
    for (let i = 0; i < 6; i++) {
      const r = await productpage();
      statuses.push(r.status);
      if (r.status === 429) denied = r.body;
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    expect(denied).toBe('RESOURCE_EXHAUSTED:Quota is exhausted for: requestcount');
    // the sample's FIXED_WINDOW (3 per 10 s) resets
    expect((await eventually(productpage, (r) => r.status === 200, 30_000)).status).toBe(200);
    // Redis gone: Mixer grants (its default --redis-unavailable grant) and counts it; far more than 3
    // requests pass
    await redis.kill();
    const after: number[] = [];
    for (let i = 0; i < 8; i++) after.push((await productpage()).status);
    expect(after).toEqual(Array(8).fill(200));
    const metrics = (await request(`http://${proc('istio-policy').ip}:15014/metrics`)).body;
    const unavailable =
      /^mixer_redisquota_unavailable_total\{handler="handler\.redisquota\.istio-system"\} (\d+)/m.exec(metrics);
    expect(Number(unavailable?.[1] ?? 0)).toBeGreaterThan(0);
  });

  test('policyCheckFailOpen: true in the mesh config, policy Mixer killed → 200, counted as fail-open', async () => {
    // Pilot reads --mesh-config at start: rewrite it and let the supervisor restart Pilot
    const meshFile = join(m.stateDir, 'mesh.yaml');
    writeFileSync(
      meshFile,
      readFileSync(meshFile, 'utf8').replace('policyCheckFailOpen: false', 'policyCheckFailOpen: true'),
    );
    expect(readFileSync(meshFile, 'utf8')).toContain('policyCheckFailOpen: true');
    process.kill(proc('istio-pilot').pid as number, 'SIGKILL');
    await eventually(
      () => request(`${m.entry('productpage-v1', 15000)}/config_dump`).then((r) => r.body),
      (b) => b.includes('FAIL_OPEN'),
      90_000,
    );
    const before = await stat('productpage-v1', 'http_mixer_filter.total_check_fail_open');
    const closedBefore = await stat('productpage-v1', 'http_mixer_filter.total_check_fail_close');
    process.kill(proc('istio-policy').pid as number, 'SIGKILL');
    const ok = await eventually(
      async () => ({
        r: await productpage(),
        failOpen: await stat('productpage-v1', 'http_mixer_filter.total_check_fail_open'),
      }),
      (x) => x.failOpen > before,
      20_000,
    );
    expect(ok.r.status).toBe(200);
    expect(ok.failOpen).toBeGreaterThan(before);
    expect(await stat('productpage-v1', 'http_mixer_filter.total_check_fail_close')).toBe(closedBefore);
  });
});
