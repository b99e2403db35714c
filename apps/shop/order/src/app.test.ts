// Against the real PostgreSQL at DATABASE_URL, in a schema unique to this run (dropped afterwards).
import {
  createDemoLogger,
  demoRequest,
  parseAtomFeed,
  startDemo,
  type RunningDemo,
  type SqlDb,
} from '@tsmesh/demo-kit';
import { Writable } from 'node:stream';
import { buildOrder, openOrderDb } from './app';

const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const quiet = createDemoLogger('order', 'silent', new Writable({ write: (_c, _e, cb) => cb() }));
let db: SqlDb;
let running: RunningDemo;
let base: string;

beforeAll(async () => {
  db = await openOrderDb({ databaseUrl: DATABASE_URL, dataDir: '', schema: `order_t${process.pid}_${Date.now()}` });
  running = await startDemo(buildOrder({ db, logger: quiet }), '127.0.0.1', 0);
  base = `http://${running.address}`;
});
afterAll(async () => {
  await running.stop();
  await db.dropSchema();
  await db.close();
});

const json = { accept: 'application/json', 'content-type': 'application/json' };

test('creates orders from JSON and from the HTML form; lists and shows them', async () => {
  const created = await demoRequest(`${base}/order`, {
    method: 'POST',
    proxy: null,
    headers: json,
    body: JSON.stringify({
      customer: 'Eberhard',
      street: 'Main St 1',
      zip: '12345',
      city: 'Berlin',
      lines: [{ item: 'iPod', count: 2 }],
    }),
  });
  expect(created.status).toBe(201);
  const order = JSON.parse(created.body);
  expect(order).toMatchObject({
    customer: 'Eberhard',
    totalPrice: 84,
    numberOfLines: 1,
    shippingAddress: { city: 'Berlin' },
  });
  expect(order.revenue).toBeUndefined();
  const form = await demoRequest(`${base}/order/`, {
    method: 'POST',
    proxy: null,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'customer=Ada&street=S&zip=1&city=London&count_Apple+TV=1&count_iPod=0',
  });
  expect(form.status).toBe(303);
  const list = JSON.parse(
    (await demoRequest(`${base}/order`, { proxy: null, headers: { accept: 'application/json' } })).body,
  );
  expect(list.map((o: { customer: string }) => o.customer)).toEqual(['Eberhard', 'Ada']);
  expect((await demoRequest(`${base}/order`, { proxy: null, headers: { accept: 'text/html' } })).body).toContain(
    '<td>Ada</td>',
  );
  const one = await demoRequest(`${base}/order/${order.id}`, { proxy: null, headers: { accept: 'application/json' } });
  expect(JSON.parse(one.body).orderLine).toEqual([{ item: 'iPod', count: 2, price: 42 }]);
  expect((await demoRequest(`${base}/order/99999`, { proxy: null })).status).toBe(404);
});

test('invalid orders are refused with every problem listed', async () => {
  const res = await demoRequest(`${base}/order`, {
    method: 'POST',
    proxy: null,
    headers: json,
    body: JSON.stringify({ customer: '', city: '', lines: [{ item: 'Walkman', count: 0 }] }),
  });
  expect(res.status).toBe(400);
  expect(JSON.parse(res.body).errors).toEqual([
    'customer is required',
    'city is required',
    'unknown item "Walkman"',
    'count for Walkman must be a positive integer',
  ]);
});

test('the Atom feed links every order', async () => {
  const res = await demoRequest(`${base}/order/feed`, { proxy: null });
  expect(res.headers['content-type']).toMatch(/application\/atom\+xml/);
  const feed = parseAtomFeed(res.body);
  expect(feed.entries.length).toBeGreaterThanOrEqual(2);
  expect(feed.entries[0].href).toMatch(/^\/order\/\d+$/);
});

test('FAILRANDOMLY fails half the requests; PUBLISH_REVENUE adds revenue', async () => {
  let n = 0;
  const flaky = await startDemo(
    buildOrder({
      db,
      failRandomly: true,
      publishRevenue: true,
      random: () => (n++ % 2 === 0 ? 0.1 : 0.9),
      logger: quiet,
    }),
    '127.0.0.1',
    0,
  );
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await demoRequest(`http://${flaky.address}/order`, { proxy: null, headers: { accept: 'application/json' } }))
          .status,
      );
    expect(statuses).toEqual([500, 200, 500, 200]);
    expect((await demoRequest(`http://${flaky.address}/health`, { proxy: null })).status).toBe(200);
    const ok = await demoRequest(`http://${flaky.address}/order`, {
      proxy: null,
      headers: { accept: 'application/json' },
    });
    expect(ok.status).toBe(500);
    const body = JSON.parse(
      (await demoRequest(`http://${flaky.address}/order`, { proxy: null, headers: { accept: 'application/json' } }))
        .body,
    );
    expect(body[0].revenue).toBe(84);
  } finally {
    await flaky.stop();
  }
});
