// Mixer through the running mesh (Pilot, Mixer policy + telemetry, gateway, sidecars; bookinfo):
// the sidecars' `mixer` filter reports every request (istio_requests_total on Mixer's Prometheus
// endpoint), Istio 1.0's denier sample blocks reviews v3 → ratings, the memquota sample limits
// productpage, and with the policy Mixer gone checks fail closed (503).
//
// Policy is applied before the traffic it governs: a Check answer is cached by the sidecars for
// Mixer's valid_duration (1 min), and a keep-alive connection keeps the filter config it was
// accepted with, so the quota is exercised on fresh connections to productpage's sidecar.
import { eventually, request, skipNotice, startMesh, tsmesh } from './mesh';

jest.setTimeout(300_000);
const { mesh, reason } = startMesh('mixer', {
  needed: ['pilot', 'proxy', 'gateway', 'mixer'],
  extraArgs: ['--manifests', 'apps/cli/src/e2e/bookinfo-mesh', '--without', 'citadel'],
});
if (reason) skipNotice('mixer e2e', reason);
const d = mesh ? describe : describe.skip;
const m = mesh as NonNullable<typeof mesh>;
afterAll(() => mesh?.down());

interface Proc {
  name: string;
  ip: string;
  pid: number | null;
}
const procs = (): Proc[] => (JSON.parse(tsmesh(m.stateDir, 'status', '--json').out) as { processes: Proc[] }).processes;
const ipOf = (name: string): string => {
  const p = procs().find((x) => x.name === name);
  if (!p) throw new Error(`no process ${name}`);
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

const host = (svc: string) => `${svc}.default.svc.cluster.local`;

/** Mixer's loaded config (`/debug/config` on the policy Mixer). */
const policyConfig = () => request(`http://${ipOf('istio-policy')}:15014/debug/config`).then((r) => r.body);

d('Mixer in the running mesh', () => {
  const gw = (path: string) => request(`http://${m.gateway}${path}`);
  const productpagePod = () => `${m.entry('productpage-v1', 9080)}/productpage`;

  beforeAll(async () => {
    // Before any traffic, so no sidecar holds an earlier "allowed" answer for these attributes.
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/policy/mixer-rule-deny-label.yaml').code).toBe(0);
    const cfg = await eventually(policyConfig, (b) => b.includes('denyreviewsv3.rule.default'), 30_000);
    expect(cfg).toContain('denyreviewsv3handler.denier.default');
  });

  test('every request through the gateway is counted by Mixer: istio_requests_total, reporter="destination"', async () => {
    await eventually(
      () => gw('/productpage'),
      (r) => r.status === 200 && r.body.includes('Reviews served by'),
      30_000,
    );
    const N = 10;
    for (let i = 0; i < N; i++) expect((await gw('/productpage')).status).toBe(200);
    // Every page so far answered 200 was reported: count them from the Mixer side.
    const dest = (svc: string, series: Series[]) =>
      sum(series, { reporter: 'destination', destination_service: host(svc), response_code: '200' });
    const series = await eventually(requestsTotal, (s) => dest('productpage', s) >= N + 1, 20_000);
    const pages = dest('productpage', series);
    expect(pages).toBeGreaterThanOrEqual(N + 1);
    // productpage calls details and reviews once per page; reviews v2/v3 call ratings.
    const settled = await eventually(
      requestsTotal,
      (s) => dest('details', s) === pages && dest('reviews', s) === pages,
      20_000,
    );
    expect(dest('productpage', settled)).toBe(pages);
    expect(dest('details', settled)).toBe(pages);
    expect(dest('reviews', settled)).toBe(pages);
    // the calling side reports too (reporter="source"), naming the destination from its route
    const fromGateway = (s: Series[]) =>
      sum(s, { reporter: 'source', destination_service: host('productpage'), response_code: '200' });
    expect(fromGateway(await eventually(requestsTotal, (s) => fromGateway(s) === pages))).toBe(pages);
    const ratings = sum(settled, { reporter: 'destination', destination_service: host('ratings') });
    expect(ratings).toBeGreaterThan(0);
    expect(ratings).toBeLessThanOrEqual(pages);
    // the series carry Istio's labels, filled from the sidecars' attributes
    const page = settled.find(
      (s) => s.labels['reporter'] === 'destination' && s.labels['destination_service'] === host('productpage'),
    );
    expect(page?.labels).toMatchObject({
      destination_app: 'productpage',
      destination_version: 'v1',
      destination_service_name: 'productpage',
      destination_service_namespace: 'default',
      request_protocol: 'http',
    });
  });

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

  test('memquota: productpage gets 3 requests per window, then 429 RESOURCE_EXHAUSTED', async () => {
    expect(
      tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/policy/mixer-rule-productpage-ratelimit.yaml').code,
    ).toBe(0);
    await eventually(policyConfig, (b) => b.includes('handler.memquota.istio-system'), 30_000);
    // Pilot pushed the QuotaSpec into productpage's inbound mixer filter
    await eventually(
      () => request(`${m.entry('productpage-v1', 15000)}/config_dump`).then((r) => r.body),
      (b) => /"quota":\s*"requestcount"/.test(b),
      30_000,
    );
    // The window is 1 s and rolling, so the 6 requests must fit in it: the address is looked up
    // once (each lookup runs `tsmesh status`) and they ask for productpage's index page, which
    // calls no other service. One after another, not together: the sidecar's quota prefetch
    // (as istio/proxy's) lets concurrent first asks spend tokens unevenly.
    const url = `${m.entry('productpage-v1', 9080)}/`;
    const responses = [];
    for (let i = 0; i < 6; i++) responses.push(await request(url));
    const statuses = responses.map((r) => r.status);
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    for (const r of responses.filter((x) => x.status === 429)) {
      expect(r.body).toBe('RESOURCE_EXHAUSTED:Quota is exhausted for: requestcount');
    }
  });

  test('with the policy Mixer gone, checks fail closed (503 UNAVAILABLE); it comes back when Mixer restarts', async () => {
    const policy = procs().find((p) => p.name === 'istio-policy');
    expect(policy?.pid).toBeTruthy();
    process.kill(policy?.pid as number, 'SIGKILL');
    // The supervisor restarts Mixer after a back-off; until then every check call fails.
    const down = await eventually(
      () => request(productpagePod()),
      (r) => r.status === 503,
      10_000,
    );
    expect(down.status).toBe(503);
    expect(down.body).toMatch(/^UNAVAILABLE:/);
    const stats = await request(`${m.entry('productpage-v1', 15000)}/stats`);
    expect(Number(/http_mixer_filter\.total_check_fail_close: (\d+)/.exec(stats.body)?.[1] ?? 0)).toBeGreaterThan(0);
    // restarted Mixer (fresh memquota window) answers again
    const back = await eventually(
      () => request(productpagePod()),
      (r) => r.status === 200,
      60_000,
    );
    expect(back.status).toBe(200);
  });
});
