// Resilience through the ingress gateway, the real control plane and sidecars (`--without citadel,mixer`):
// the bookinfo ratings delay for jason (productpage gives up on reviews after its own timeout), the shop
// chapter's circuit-breaker.yaml under parallel load (503 with UO / x-envoy-overloaded while single
// requests pass), and the article's circuit breaker keeping a misbehaving rating v2 at one request.
import { readFileSync } from 'node:fs';
import { eventually, request, skipNotice, startMesh, tsmesh } from './mesh';

jest.setTimeout(300_000);
const { mesh, reason } = startMesh('resilience', {
  needed: ['pilot', 'proxy', 'gateway'],
  extraArgs: ['--without', 'citadel,mixer'],
});
if (reason) skipNotice('resilience e2e (delay, circuit breakers)', reason);
const d = mesh ? describe : describe.skip;
const m = mesh as NonNullable<typeof mesh>;
afterAll(() => mesh?.down());

interface Proc {
  name: string;
  ip: string;
  log: string;
}
const procs = (): Proc[] => (JSON.parse(tsmesh(m.stateDir, 'status', '--json').out) as { processes: Proc[] }).processes;
const proc = (name: string): Proc => {
  const p = procs().find((x) => x.name === name);
  if (!p) throw new Error(`no process ${name}`);
  return p;
};
const apply = (file: string) => expect(tsmesh(m.stateDir, 'apply', '-f', file).code).toBe(0);
const gw = (path: string, headers: Record<string, string> = {}) => request(`http://${m.gateway}${path}`, { headers });

/** Sends `total` requests, `concurrency` at a time (each on its own connection), in order of completion. */
async function load(
  send: () => Promise<{ status: number; body: string; headers: Record<string, unknown> }>,
  total: number,
  concurrency: number,
) {
  const out: { status: number; body: string; headers: Record<string, unknown> }[] = [];
  for (let sent = 0; sent < total; sent += concurrency) {
    const batch = await Promise.all(Array.from({ length: Math.min(concurrency, total - sent) }, () => send()));
    out.push(...batch);
  }
  return out;
}

d('bookinfo: ratings delay for jason', () => {
  const UNAVAILABLE = 'Sorry, product reviews are currently unavailable for this book.';
  const page = (user?: string) => gw('/productpage', user ? { cookie: `user=${user}` } : {});

  test("virtual-service-ratings-delay.yaml: jason's page shows reviews unavailable after productpage's own timeout", async () => {
    // jason must reach a reviews version that calls ratings: v2 (virtual-service-reviews-jason-v2.yaml)
    apply('samples/bookinfo/destination-rule-all.yaml');
    apply('samples/bookinfo/virtual-service-reviews-jason-v2.yaml');
    await eventually(
      () => page('jason'),
      (r) => r.status === 200 && r.body.includes('color="black"'),
      30_000,
    );
    apply('samples/bookinfo/virtual-service-ratings-delay.yaml');
    await eventually(
      () => page('jason'),
      (r) => r.status === 200 && r.body.includes(UNAVAILABLE),
      60_000,
    );
    const t0 = Date.now();
    const res = await page('jason');
    const elapsed = Date.now() - t0;
    process.stderr.write(`[e2e resilience] jason's productpage with the 7 s ratings delay: ${elapsed} ms\n`);
    expect(res.status).toBe(200);
    expect(res.body).toContain(UNAVAILABLE);
    // a lower bound only: productpage waited at least its own 3 s timeout for reviews
    expect(elapsed).toBeGreaterThanOrEqual(3000);
    // everyone else is not delayed and still gets reviews
    const anon = await page();
    expect(anon.status).toBe(200);
    expect(anon.body).not.toContain(UNAVAILABLE);
  });
});

d("shop: the chapter's circuit-breaker.yaml", () => {
  const orders = () => gw('/order/', { accept: 'application/json' });

  test('parallel load through the gateway gets 503 with x-envoy-overloaded (UO); single requests pass', async () => {
    await eventually(orders, (r) => r.status === 200, 30_000);
    apply('samples/shop/circuit-breaker.yaml');
    // the gateway's order cluster carries the limits (1 connection, 1 pending, 1 request)
    const gwAdmin = proc('istio-ingressgateway').ip;
    await eventually(
      () => request(`http://${gwAdmin}:15000/clusters`),
      (r) => /outbound\|8080\|\|order\.default\.svc\.cluster\.local::default_priority::max_requests::1\n/.test(r.body),
      30_000,
    );
    for (let i = 0; i < 5; i++) expect((await orders()).status).toBe(200);
    // a bounded burst: 3 rounds of 30 concurrent requests
    const results = await load(orders, 90, 30);
    const overflowed = results.filter((r) => r.status === 503);
    process.stderr.write(
      `[e2e resilience] shop circuit breaker: ${overflowed.length} of ${results.length} concurrent requests 503\n`,
    );
    expect(overflowed.length).toBeGreaterThan(0);
    expect(results.some((r) => r.status === 200)).toBe(true);
    for (const r of overflowed) expect(r.headers['x-envoy-overloaded']).toBe('true');
    expect(results.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    // the overflows are counted on the gateway's cluster as Envoy's upstream_rq_pending_overflow
    const stats = await request(`http://${gwAdmin}:15000/stats`);
    const pendingOverflow =
      /cluster\.outbound\|8080\|\|order\.default\.svc\.cluster\.local\.upstream_rq_pending_overflow: (\d+)/.exec(
        stats.body,
      );
    expect(Number(pendingOverflow?.[1] ?? -1)).toBeGreaterThan(0);
    // the gateway logs the overflowed requests with the response flag UO; the access log is
    // flushed in batches, so the lines may reach the file a moment after the responses
    const gwLog = await eventually(
      async () => readFileSync(proc('istio-ingressgateway').log, 'utf8'),
      (log) => /\bUO\b/.test(log),
      10_000,
    );
    expect(gwLog).toMatch(/\bUO\b/);
    // sequential single requests all pass (local overflows do not eject order)
    for (let i = 0; i < 10; i++) expect((await orders()).status).toBe(200);
  });
});

d("book/rating: the article's circuit breaker", () => {
  const book = () => gw('/book/1');
  /** How many `Request N` lines rating v2 has logged (one per /rate call it served). */
  const v2Requests = () =>
    (readFileSync(proc('rating-service-v2').log, 'utf8').match(/"msg":"Request \d+"/g) ?? []).length;

  test('with v2 misbehaving, destination-rule-circuit-breaker.yaml + retries: v2 receives one request, every call answers 200 from v1', async () => {
    await eventually(book, (r) => r.status === 200, 30_000);
    apply('samples/bookrating/destination-rule-circuit-breaker.yaml');
    apply('samples/bookrating/virtual-service-retry.yaml');
    // book-service's sidecar has the rating cluster with the rule's limits
    const bookAdmin = proc('book-service').ip;
    await eventually(
      () => request(`http://${bookAdmin}:15000/clusters`),
      (r) =>
        /outbound\|8080\|\|rating\.default\.svc\.cluster\.local::default_priority::max_connections::3\n/.test(r.body),
      30_000,
    );
    const v2 = `http://${proc('rating-service-v2').ip}:8080`;
    expect((await request(`${v2}/rate/misbehave`)).body).toBe('Ratings endpoint returns 503 error.');
    try {
      const before = v2Requests();
      // single requests until round robin has sent one to v2 (its 503 is retried on v1)
      const answers: string[] = [];
      for (let i = 0; i < 10 && v2Requests() === before; i++) {
        const r = await book();
        answers.push(`${r.status} ${r.body}`);
        await eventually(
          async () => v2Requests(),
          (n) => n > before,
          500,
        );
      }
      expect(v2Requests()).toBe(before + 1);
      // the article's siege: 4 concurrent users, 10 requests each
      const results = await load(book, 40, 4);
      for (const r of results) answers.push(`${r.status} ${r.body}`);
      expect([...new Set(answers)]).toEqual(['200 {"bookId":1,"name":"Book 1","rating":1}']);
      // the first 503 ejected v2 (consecutive5xxErrors: 1, baseEjectionTime: 3m): it saw no more requests
      expect(v2Requests()).toBe(before + 1);
      process.stderr.write(`[e2e resilience] rating v2 requests during the run: ${v2Requests() - before}\n`);
      // book-service's sidecar shows v2 ejected by outlier detection in the rating cluster
      const clusters = await request(`http://${bookAdmin}:15000/clusters`);
      const v2Host = `outbound|8080||rating.default.svc.cluster.local::${proc('rating-service-v2').ip}:8080`;
      expect(clusters.body).toContain(`${v2Host}::health_flags::/failed_outlier_check`);
    } finally {
      await request(`${v2}/rate/behave`);
    }
  });
});
