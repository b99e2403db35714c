// Against the real PostgreSQL at DATABASE_URL (unique schema) and a fake order service.
import {
  createDemoLogger,
  demoRequest,
  renderAtomFeed,
  startDemo,
  type RunningDemo,
  type SqlDb,
} from '@tsmesh/demo-kit';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { buildShipping, openShippingDb } from './app';

const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const quiet = createDemoLogger('shipping', 'silent', new Writable({ write: (_c, _e, cb) => cb() }));
let orderUp = true;
const orderHeaders: http.IncomingHttpHeaders[] = [];
let order: http.Server;
let db: SqlDb;
let running: RunningDemo;
let base: string;

const ORDER = {
  id: 7,
  customer: 'Eberhard',
  shippingAddress: { street: 'Main St 1', zip: '12345', city: 'Berlin' },
  billingAddress: { street: 'Main St 1', zip: '12345', city: 'Berlin' },
  orderLine: [{ item: 'iPod', count: 2, price: 42 }],
  totalPrice: 84,
  updated: '2026-01-01T00:00:00.000Z',
};

beforeAll(async () => {
  order = http.createServer((req, res) => {
    orderHeaders.push(req.headers);
    if (!orderUp) return void res.writeHead(500).end('fault injected');
    if (req.url === '/order/feed')
      return void res.end(
        renderAtomFeed({
          id: 'o',
          title: 'Order',
          updated: ORDER.updated,
          entries: [{ id: 'o:7', title: 'Order 7', updated: ORDER.updated, href: '/order/7' }],
        }),
      );
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(ORDER));
  });
  await new Promise<void>((r) => order.listen(0, '127.0.0.1', r));
  db = await openShippingDb({
    databaseUrl: DATABASE_URL,
    dataDir: '',
    schema: `shipping_t${process.pid}_${Date.now()}`,
  });
  const { server } = buildShipping({
    db,
    orderUrl: `http://127.0.0.1:${(order.address() as AddressInfo).port}`,
    logger: quiet,
  });
  running = await startDemo(server, '127.0.0.1', 0);
  base = `http://${running.address}`;
});
afterAll(async () => {
  await running.stop();
  await db.dropSchema();
  await db.close();
  await new Promise((r) => order.close(r));
});

test('a failing order service is shown as an error; shipping keeps serving', async () => {
  orderUp = false;
  const poll = await demoRequest(`${base}/shipping/poll`, {
    method: 'POST',
    proxy: null,
    headers: { 'x-request-id': 'p1' },
  });
  expect(poll.status).toBe(502);
  expect(JSON.parse(poll.body).error).toMatch(/answered 500/);
  expect(orderHeaders.at(-1)?.['x-request-id']).toBe('p1');
  const html = await demoRequest(`${base}/shipping`, { proxy: null });
  expect(html.status).toBe(200);
  expect(html.body).toContain('failed: GET');
});

test('poll stores a shipment per new order, once', async () => {
  orderUp = true;
  expect(JSON.parse((await demoRequest(`${base}/shipping/poll`, { method: 'POST', proxy: null })).body)).toMatchObject({
    ok: true,
    added: 1,
  });
  expect(JSON.parse((await demoRequest(`${base}/shipping/poll`, { method: 'POST', proxy: null })).body)).toMatchObject({
    ok: true,
    added: 0,
  });
  const list = JSON.parse(
    (await demoRequest(`${base}/shipping`, { proxy: null, headers: { accept: 'application/json' } })).body,
  );
  expect(list.shipments).toEqual([
    {
      id: 7,
      customer: 'Eberhard',
      street: 'Main St 1',
      zip: '12345',
      city: 'Berlin',
      items: ORDER.orderLine,
      updated: ORDER.updated,
    },
  ]);
  const form = await demoRequest(`${base}/shipping/poll`, {
    method: 'POST',
    proxy: null,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
  });
  expect(form.status).toBe(303);
});
