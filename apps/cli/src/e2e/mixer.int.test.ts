// Mixer through the running mesh (Pilot, Mixer policy + telemetry, gateway, sidecars; bookinfo):
// the sidecars' `mixer` filter reports every request, and a private, real Prometheus scraping the
// telemetry Mixer's prometheus adapter answers `istio_requests_total` by destination with the
// exact counts of the pages sent; Istio 1.0's denier sample blocks reviews v3 → ratings, the
// memquota sample limits productpage (and the limit lifts once its window has passed), and with
// the policy Mixer gone checks fail closed (503).
//
// Policy is applied before the traffic it governs: a Check answer is cached by the sidecars for
// Mixer's valid_duration (1 min), and a keep-alive connection keeps the filter config it was
// accepted with, so the quota is exercised on fresh connections to productpage's sidecar.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { delay, prometheusMissing, startPrometheus, type Prometheus } from '@tsmesh/testing';
import { eventually, request, ROOT, skipNotice, startMesh, tsmesh } from './mesh';

jest.setTimeout(300_000);
const { mesh, reason } = startMesh('mixer', {
  needed: ['pilot', 'proxy', 'gateway', 'mixer'],
  extraArgs: ['--manifests', 'apps/cli/src/e2e/bookinfo-mesh', '--without', 'citadel'],
});
if (reason) skipNotice('mixer e2e', reason);
const d = mesh ? describe : describe.skip;
const m = mesh as NonNullable<typeof mesh>;

// Issue #6's acceptance needs the real Prometheus: under TSMESH_E2E_STRICT=1 (CI) its absence
// fails that test instead of skipping it.
const noPrometheus = prometheusMissing();
const strict = process.env['TSMESH_E2E_STRICT'] === '1';
if (noPrometheus && !strict) skipNotice('mixer e2e, the real-Prometheus test', noPrometheus);
const withPrometheus = noPrometheus && !strict ? test.skip : test;
let prometheus: Prometheus | undefined;

afterAll(async () => {
  await prometheus?.stop();
  mesh?.down();
});

interface Proc {
  name: string;
  ip: string;
  pid: number | null;
}
const procs = (): Proc[] => (JSON.parse(tsmesh(m.stateDir, 'status', '--json').out) as { processes: Proc[] }).processes;
// resolved once per name: every `tsmesh status` is a process start, and a pod keeps its address
// across restarts
const ips = new Map<string, string>();
const ipOf = (name: string): string => {
  const known = ips.get(name);
  if (known) return known;
  const p = procs().find((x) => x.name === name);
  if (!p) throw new Error(`no process ${name}`);
  ips.set(name, p.ip);
  return p.ip;
};

type Series = { labels: Record<string, string>; value: number };

/** `istio_requests_total` series from Mixer's Prometheus endpoint (the prometheus adapter). */
async function requestsTotal(): Promise<Series[]> {
  const res = await request(`http://${ipOf('istio-telemetry')}:42422/metrics`);
  const out: Series[] = [];
  for (const line of res.body.split('\n')) {
    const mm = /^istio_requests_total\{(.*)\} (\S+)$/.exec(line);
    if (!mm) continue;
    const labels: Record<string, string> = {};
    for (const l of mm[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(mm[2]) });
  }
  return out;
}

const sum = (series: Series[], want: Record<string, string>): number =>
  series.filter((s) => Object.entries(want).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);

/** Totals per value of `label` (series without it are left out). */
const totalsBy = (series: Series[], label: string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const s of series) {
    const key = s.labels[label];
    if (key !== undefined) out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
};

/** What `after` adds to `before`, keeping only the keys that moved. */
const increase = (after: Record<string, number>, before: Record<string, number>): Record<string, number> =>
  Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
      .filter(([, v]) => v !== 0),
  );

const host = (svc: string) => `${svc}.default.svc.cluster.local`;

/** Mixer's loaded config (`/debug/config` on the policy Mixer). */
const policyConfig = () => request(`http://${ipOf('istio-policy')}:15014/debug/config`).then((r) => r.body);

d('Mixer in the running mesh', () => {
  const gw = (path: string) => request(`http://${m.gateway}${path}`);

  beforeAll(async () => {
    // Prometheus starts while the policy is applied (its first scrapes are of idle counters)
    const starting = noPrometheus
      ? undefined
      : startPrometheus([`${ipOf('istio-telemetry')}:42422`]).then((p) => (prometheus = p));
    try {
      // Before any traffic, so no sidecar holds an earlier "allowed" answer for these attributes.
      expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/policy/mixer-rule-deny-label.yaml').code).toBe(0);
      const cfg = await eventually(policyConfig, (b) => b.includes('denyreviewsv3.rule.default'), 30_000);
      expect(cfg).toContain('denyreviewsv3handler.denier.default');
    } finally {
      await starting;
    }
  });

  withPrometheus(
    'a real Prometheus scraping the telemetry Mixer has every page through the gateway: istio_requests_total by destination_service, exact counts',
    async () => {
      if (!prometheus) throw new Error(`TSMESH_E2E_STRICT=1 and no Prometheus: ${noPrometheus}`);
      const prom = prometheus;
      const byDestination = async () => {
        const v = await prom.query('sum by (destination_service) (istio_requests_total{reporter="destination"})');
        return { counts: totalsBy(v, 'destination_service'), time: v[0]?.time };
      };
      const mixerCounts = async () =>
        totalsBy(
          (await requestsTotal()).filter((s) => s.labels['reporter'] === 'destination'),
          'destination_service',
        );
      await eventually(
        () => gw('/productpage'),
        (r) => r.status === 200 && r.body.includes('Reviews served by'),
        30_000,
      );
      // The baseline must hold every report of the warm-up: a sidecar sends its batch within 1 s
      // of a request, so wait until Mixer's counts stand still for longer than that, then until
      // Prometheus has scraped those counts.
      const settledCounts = await eventually(
        async () => {
          const first = await mixerCounts();
          if (!first[host('productpage')]) return null;
          await delay(2000);
          return isDeepStrictEqual(first, await mixerCounts()) ? first : null;
        },
        (c) => c !== null,
        30_000,
      );
      expect(settledCounts).not.toBeNull();
      const baseline = await eventually(byDestination, (b) => isDeepStrictEqual(b.counts, settledCounts), 20_000);
      expect(baseline.counts).toEqual(settledCounts);

      // N pages; each names the reviews pod that served it. reviews v2 and v3 call ratings once
      // per page (v3's call is denied, 403, by the denier rule applied above); v1 does not.
      const N = 12;
      const byVersion: Record<string, number> = { v1: 0, v2: 0, v3: 0 };
      for (let i = 0; i < N; i++) {
        const page = await gw('/productpage');
        expect(page.status).toBe(200);
        const version = /Reviews served by:<\/dt><dd><u>reviews-(v[123])-/.exec(page.body)?.[1];
        expect(version).toBeDefined();
        byVersion[version as string]++;
      }
      const expected = Object.fromEntries(
        Object.entries({
          [host('productpage')]: N,
          [host('details')]: N,
          [host('reviews')]: N,
          [host('ratings')]: byVersion['v2'] + byVersion['v3'],
        }).filter(([, n]) => n > 0),
      );
      const after = await eventually(
        byDestination,
        (a) => isDeepStrictEqual(increase(a.counts, baseline.counts), expected),
        20_000,
      );
      expect(increase(after.counts, baseline.counts)).toEqual(expected);
      // ratings by response code, from the same two moments: v2's calls 200, v3's denied 403
      const ratingsByCode = async (time: number | undefined) =>
        totalsBy(
          await prom.query(
            `sum by (response_code) (istio_requests_total{reporter="destination",destination_service="${host('ratings')}"})`,
            time,
          ),
          'response_code',
        );
      expect(increase(await ratingsByCode(after.time), await ratingsByCode(baseline.time))).toEqual(
        Object.fromEntries(Object.entries({ '200': byVersion['v2'], '403': byVersion['v3'] }).filter(([, n]) => n > 0)),
      );

      // Mixer's own endpoint: the calling side reports too (reporter="source"), naming the
      // destination from its route, and the series carry Istio's labels from the sidecars' attributes
      const dest200 = (s: Series[]) =>
        sum(s, { reporter: 'destination', destination_service: host('productpage'), response_code: '200' });
      const fromGateway = (s: Series[]) =>
        sum(s, { reporter: 'source', destination_service: host('productpage'), response_code: '200' });
      const series = await eventually(requestsTotal, (s) => fromGateway(s) === dest200(s));
      expect(fromGateway(series)).toBe(dest200(series));
      const page = series.find(
        (s) => s.labels['reporter'] === 'destination' && s.labels['destination_service'] === host('productpage'),
      );
      expect(page?.labels).toMatchObject({
        destination_app: 'productpage',
        destination_version: 'v1',
        destination_service_name: 'productpage',
        destination_service_namespace: 'default',
        request_protocol: 'http',
      });
    },
  );

  test('the denier rule blocks reviews v3 → ratings (403 PERMISSION_DENIED, UAEX); reviews v2 still gets ratings', async () => {
    const v3 = await eventually(
      () => request(`${m.entry('reviews-v3', 9080)}/reviews/0`),
      (r) => r.status === 200,
    );
    expect(v3.body).toContain('Ratings service is currently unavailable');
    const v2 = await request(`${m.entry('reviews-v2', 9080)}/reviews/0`);
    expect(v2.status).toBe(200);
    expect(v2.body).toContain('"stars"');
    expect(v2.body).not.toContain('Ratings service is currently unavailable');
    // Mixer saw the denials as ratings' 403s from reviews v3
    const series = await eventually(
      requestsTotal,
      (s) =>
        sum(s, {
          reporter: 'destination',
          destination_service: host('ratings'),
          source_version: 'v3',
          response_code: '403',
        }) > 0,
    );
    expect(
      sum(series, {
        reporter: 'destination',
        destination_service: host('ratings'),
        source_version: 'v2',
        response_code: '403',
      }),
    ).toBe(0);
    const stats = await request(`${m.entry('ratings-v1', 15000)}/stats`);
    expect(Number(/http_mixer_filter\.total_remote_check_denies: (\d+)/.exec(stats.body)?.[1] ?? 0)).toBeGreaterThan(0);
  });

  test('memquota: productpage gets 3 requests per window, then 429 RESOURCE_EXHAUSTED, then 200 once the window has passed', async () => {
    // The sample's productpage window (3 per 30 s) shortened to a few seconds in a copy, so the
    // suite can wait for it to pass; everything else is the sample as written.
    const windowS = 3;
    const sample = readFileSync(join(ROOT, 'samples/bookinfo/policy/mixer-rule-productpage-ratelimit.yaml'), 'utf8');
    expect(sample.match(/^ {10}validDuration: 30s$/gm)).toHaveLength(1);
    const file = join(m.stateDir, 'productpage-ratelimit.yaml');
    writeFileSync(file, sample.replace(/^( {10}validDuration: )30s$/m, `$1${windowS}s`));
    expect(tsmesh(m.stateDir, 'apply', '-f', file).code).toBe(0);
    await eventually(policyConfig, (b) => b.includes('handler.memquota.istio-system'), 30_000);
    // Pilot pushed the QuotaSpec into productpage's inbound mixer filter
    await eventually(
      () => request(`${m.entry('productpage-v1', 15000)}/config_dump`).then((r) => r.body),
      (b) => /"quota":\s*"requestcount"/.test(b),
      30_000,
    );
    // memquota's window is rolling: a grant is given back `windowS` after it was made, so the 6
    // requests must fit in one window. The address is looked up once (each lookup runs `tsmesh
    // status`) and they ask for productpage's index page, which calls no other service. One after
    // another, not together: the sidecar's quota prefetch (as istio/proxy's) lets concurrent first
    // asks spend tokens unevenly.
    const url = `${m.entry('productpage-v1', 9080)}/`;
    const started = Date.now();
    const responses = [];
    for (let i = 0; i < 6; i++) responses.push(await request(url));
    const statuses = responses.map((r) => r.status);
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    for (const r of responses.filter((x) => x.status === 429)) {
      expect(r.body).toBe('RESOURCE_EXHAUSTED:Quota is exhausted for: requestcount');
    }
    // Refused until the first grant leaves the window (Mixer counts it in 100 ms ticks), then served.
    const after = await eventually(
      () => request(url),
      (r) => r.status === 200,
      (windowS + 10) * 1000,
    );
    expect(after.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual((windowS - 0.2) * 1000);
  });

  test('with the policy Mixer gone, checks fail closed (503 UNAVAILABLE); it comes back when Mixer restarts', async () => {
    // Every request as from a caller of its own: x-forwarded-for is a dimension of the quota above,
    // so no request is served from tokens the sidecar prefetched for an earlier caller (that needs
    // no Mixer) or refused for a spent window; each one asks Mixer.
    const page = `${m.entry('productpage-v1', 9080)}/productpage`;
    let callers = 0;
    const newCaller = () => {
      const n = ++callers;
      return request(page, { headers: { 'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` } });
    };
    const policy = procs().find((p) => p.name === 'istio-policy');
    expect(policy?.pid).toBeTruthy();
    process.kill(policy?.pid as number, 'SIGKILL');
    // The supervisor restarts Mixer after a back-off; until then every check call fails.
    const down = await eventually(newCaller, (r) => r.status === 503, 10_000);
    expect(down.status).toBe(503);
    expect(down.body).toMatch(/^UNAVAILABLE:/);
    const stats = await request(`${m.entry('productpage-v1', 15000)}/stats`);
    expect(Number(/http_mixer_filter\.total_check_fail_close: (\d+)/.exec(stats.body)?.[1] ?? 0)).toBeGreaterThan(0);
    const back = await eventually(newCaller, (r) => r.status === 200, 60_000);
    expect(back.status).toBe(200);
  });
});
