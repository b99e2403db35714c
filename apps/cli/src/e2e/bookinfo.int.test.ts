// Bookinfo through the sidecars: the page, user-based routing to reviews v2,
// weighted routing to v3, fault injection on ratings.
import { eventually, request, skipNotice, startMesh, tsmesh } from './mesh';

jest.setTimeout(300_000);
// Pilot + sidecars (the gateway has its own suite, gateway.int.test.ts): calls enter at the pod's
// service port, which the sidecar's inbound listener owns.
const { mesh, reason } = startMesh('bookinfo', {
  needed: ['pilot', 'proxy'],
  extraArgs: ['--without', 'gateway,mixer,citadel'],
});
if (reason) skipNotice('bookinfo e2e', reason);
const d = mesh ? describe : describe.skip;

d('bookinfo through the mesh', () => {
  const m = mesh as NonNullable<typeof mesh>;
  const page = (user?: string) =>
    request(`${m.entry('productpage-v1', 9080)}/productpage`, { headers: user ? { cookie: `user=${user}` } : {} });
  afterAll(() => m.down());

  test('the product page is served through its sidecar, calling details and reviews through sidecars', async () => {
    const res = await eventually(
      () => page(),
      (r) => r.status === 200,
    );
    expect(res.body).toContain('The Comedy of Errors');
    expect(res.body).toContain('William Shakespeare');
  });

  test('end-user jason is routed to reviews v2 (black stars), everyone else to v1', async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/destination-rule-all.yaml').code).toBe(0);
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/virtual-service-reviews-jason-v2.yaml').code).toBe(0);
    const jason = await eventually(
      () => page('jason'),
      (r) => r.body.includes('color="black"'),
    );
    expect(jason.body).toMatch(/reviews-v2-[0-9a-f]{5}/);
    const anon = await eventually(
      () => page(),
      (r) => /reviews-v1-/.test(r.body),
    );
    expect(anon.body).not.toContain('full stars');
  });

  test('ratings abort for jason shows "Ratings service is currently unavailable"', async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/virtual-service-ratings-abort.yaml').code).toBe(0);
    const res = await eventually(
      () => page('jason'),
      (r) => r.body.includes('Ratings service is currently unavailable'),
    );
    expect(res.body).toContain('Ratings service is currently unavailable');
    expect(tsmesh(m.stateDir, 'delete', '-f', 'samples/bookinfo/virtual-service-ratings-abort.yaml').code).toBe(0);
  });

  test('all reviews traffic to v3 gives red stars', async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookinfo/virtual-service-reviews-v3.yaml').code).toBe(0);
    const res = await eventually(
      () => page(),
      (r) => r.body.includes('color="red"'),
    );
    expect(res.body).toMatch(/reviews-v3-[0-9a-f]{5}/);
  });
});
