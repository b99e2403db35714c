// The shop as real processes on embedded PGlite (no DATABASE_URL): an order
// created at order reaches shipping, invoicing and bonus through the Atom feed.
import { demoRequest, startDemoProcess, type DemoProcess } from '@tsmesh/demo-kit';
import { join } from 'node:path';

const entry = (svc: string) => join(__dirname, `../../${svc}/src/main.ts`);
const procs: DemoProcess[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
});

test('order → feed → shipping/invoicing/bonus on PGlite', async () => {
  const args = ['--host', '127.0.0.1', '--port', '0'];
  // Each service opens its own embedded PGlite: several starting at once on a loaded 2-core
  // machine take well over the default 20 s.
  const timeoutMs = 90_000;
  const order = await startDemoProcess(entry('order'), { args, timeoutMs });
  procs.push(order);
  const env = { ORDER_URL: `http://${order.address}`, POLL_INTERVAL_MS: '0' };
  const consumers = await Promise.all(
    ['shipping', 'invoicing', 'bonus'].map((s) => startDemoProcess(entry(s), { args, env, timeoutMs })),
  );
  procs.push(...consumers);
  const created = await demoRequest(`http://${order.address}/order`, {
    method: 'POST',
    proxy: null,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      customer: 'Ada',
      street: 'S',
      zip: '1',
      city: 'London',
      lines: [{ item: 'iPod nano', count: 3 }],
    }),
  });
  expect(created.status).toBe(201);
  const [shipping, invoicing, bonus] = consumers;
  for (const [p, path] of [
    [shipping, 'shipping'],
    [invoicing, 'invoicing'],
    [bonus, 'bonus'],
  ] as const) {
    const poll = await demoRequest(`http://${p.address}/${path}/poll`, { method: 'POST', proxy: null });
    expect(JSON.parse(poll.body)).toMatchObject({ ok: true, added: 1 });
  }
  const inv = JSON.parse(
    (
      await demoRequest(`http://${invoicing.address}/invoicing`, {
        proxy: null,
        headers: { accept: 'application/json' },
      })
    ).body,
  );
  expect(inv.invoices[0]).toMatchObject({ customer: 'Ada', total: 3 });
  expect(await order.stop()).toBe(0);
}, 240_000);
