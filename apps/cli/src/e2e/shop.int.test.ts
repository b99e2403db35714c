// The chapter's shop through the sidecars: an order created at order, shipping polling order through
// sidecars, fault-injection.yaml making the poll fail (and shipping still working), retry.yaml.
import { eventually, request, skipNotice, startMesh, tsmesh } from './mesh';

jest.setTimeout(300_000);
// Pilot + sidecars (the gateway has its own suite, gateway.int.test.ts): calls enter at the pod's
// service port, which the sidecar's inbound listener owns.
const { mesh, reason } = startMesh('shop', {
  needed: ['pilot', 'proxy'],
  extraArgs: ['--without', 'gateway,mixer,citadel'],
});
if (reason) skipNotice('shop e2e', reason);
const d = mesh ? describe : describe.skip;

d('shop through the mesh', () => {
  const m = mesh as NonNullable<typeof mesh>;
  const order = () => m.entry('order', 8080);
  const shipping = () => m.entry('shipping', 8080);
  const poll = () => request(`${shipping()}/shipping/poll`, { method: 'POST' });
  afterAll(() => m.down());

  test('home, an order created at order, shipping polls it through the sidecars', async () => {
    const home = await eventually(
      () => request(`${m.entry('home', 8080)}/`),
      (r) => r.status === 200,
    );
    expect(home.body).toContain('href="/order/"');
    const created = await request(`${order()}/order`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        customer: 'Ada',
        street: 'S',
        zip: '1',
        city: 'London',
        lines: [{ item: 'iPod', count: 1 }],
      }),
    });
    expect(created.status).toBe(201);
    const polled = await eventually(poll, (r) => r.status === 200);
    expect(JSON.parse(polled.body)).toMatchObject({ ok: true });
    const list = await request(`${shipping()}/shipping`, { headers: { accept: 'application/json' } });
    expect(JSON.parse(list.body).shipments.map((s: { customer: string }) => s.customer)).toContain('Ada');
  });

  test('fault-injection.yaml: polling order fails with 500 and shipping shows the error', async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/shop/fault-injection.yaml').code).toBe(0);
    const failed = await eventually(poll, (r) => r.status === 502);
    expect(JSON.parse(failed.body).error).toMatch(/500/);
    expect((await request(`${shipping()}/shipping`)).status).toBe(200);
    expect(tsmesh(m.stateDir, 'delete', '-f', 'samples/shop/fault-injection.yaml').code).toBe(0);
    await eventually(poll, (r) => r.status === 200);
  });
});
