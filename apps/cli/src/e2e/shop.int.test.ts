// The chapter's shop through the mesh: orders via the gateway, shipping polling order through
// sidecars, fault-injection.yaml making the poll fail (and shipping still working), retry.yaml.
import { eventually, request, skipNotice, startMesh, tsmesh } from './mesh';

jest.setTimeout(300_000);
const { mesh, reason } = startMesh('shop');
if (reason) skipNotice('shop e2e', reason);
const d = mesh ? describe : describe.skip;

d('shop through the mesh', () => {
  const m = mesh as NonNullable<typeof mesh>;
  const gw = () => `http://${m.gateway}`;
  const poll = () => request(`${gw()}/shipping/poll`, { method: 'POST' });
  afterAll(() => m.down());

  test('home, an order created through the gateway, shipping polls it through the mesh', async () => {
    const home = await eventually(
      () => request(`${gw()}/`),
      (r) => r.status === 200,
    );
    expect(home.body).toContain('href="/order/"');
    const created = await request(`${gw()}/order`, {
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
    const list = await request(`${gw()}/shipping`, { headers: { accept: 'application/json' } });
    expect(JSON.parse(list.body).shipments.map((s: { customer: string }) => s.customer)).toContain('Ada');
  });

  test('fault-injection.yaml: polling order fails with 500 and shipping shows the error', async () => {
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/shop/fault-injection.yaml').code).toBe(0);
    const failed = await eventually(poll, (r) => r.status === 502);
    expect(JSON.parse(failed.body).error).toMatch(/500/);
    expect((await request(`${gw()}/shipping`)).status).toBe(200);
    expect(tsmesh(m.stateDir, 'delete', '-f', 'samples/shop/fault-injection.yaml').code).toBe(0);
    await eventually(poll, (r) => r.status === 200);
  });
});
