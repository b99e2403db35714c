// Against the real PostgreSQL at DATABASE_URL (unique schema) and a fake order service.
import { createDemoLogger, demoRequest, renderAtomFeed, startDemo } from '@tsmesh/demo-kit';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { buildInvoicing, openInvoicingDb } from './app';

const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const quiet = createDemoLogger('invoicing', 'silent', new Writable({ write: (_c, _e, cb) => cb() }));

test('poll stores an invoice with billing address and total', async () => {
  const ORDER = {
    id: 3,
    customer: 'Ada',
    billingAddress: { street: 'B', zip: '1', city: 'London' },
    orderLine: [{ item: 'Apple TV', count: 1, price: 100 }],
    totalPrice: 100,
    updated: '2026-01-01T00:00:00.000Z',
  };
  const order = http.createServer((req, res) => {
    if (req.url === '/order/feed')
      return void res.end(
        renderAtomFeed({
          id: 'o',
          title: 'Order',
          updated: ORDER.updated,
          entries: [{ id: 'o:3', title: 'Order 3', updated: ORDER.updated, href: '/order/3' }],
        }),
      );
    res.end(JSON.stringify(ORDER));
  });
  await new Promise<void>((r) => order.listen(0, '127.0.0.1', r));
  const db = await openInvoicingDb({
    databaseUrl: DATABASE_URL,
    dataDir: '',
    schema: `invoicing_t${process.pid}_${Date.now()}`,
  });
  const { server } = buildInvoicing({
    db,
    orderUrl: `http://127.0.0.1:${(order.address() as AddressInfo).port}`,
    logger: quiet,
  });
  const running = await startDemo(server, '127.0.0.1', 0);
  try {
    expect(
      JSON.parse((await demoRequest(`http://${running.address}/invoicing/poll`, { method: 'POST', proxy: null })).body)
        .added,
    ).toBe(1);
    const list = JSON.parse(
      (
        await demoRequest(`http://${running.address}/invoicing`, {
          proxy: null,
          headers: { accept: 'application/json' },
        })
      ).body,
    );
    expect(list.invoices[0]).toMatchObject({ id: 3, customer: 'Ada', city: 'London', total: 100 });
    expect((await demoRequest(`http://${running.address}/invoicing/`, { proxy: null })).body).toContain('100.00');
  } finally {
    await running.stop();
    await db.dropSchema();
    await db.close();
    await new Promise((r) => order.close(r));
  }
});
