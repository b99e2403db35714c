// Against the real PostgreSQL at DATABASE_URL (unique schema) and a fake order service.
import { createDemoLogger, demoRequest, renderAtomFeed, startDemo } from '@tsmesh/demo-kit';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { buildBonus, openBonusDb } from './app';

const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const quiet = createDemoLogger('bonus', 'silent', new Writable({ write: (_c, _e, cb) => cb() }));

test('revenue is missing until order publishes it', async () => {
  const orders: Record<number, object> = {
    1: { id: 1, customer: 'Ada', updated: '2026-01-01T00:00:00.000Z' },
    2: { id: 2, customer: 'Ada', revenue: 42, updated: '2026-01-02T00:00:00.000Z' },
  };
  let published = [1];
  const order = http.createServer((req, res) => {
    if (req.url === '/order/feed')
      return void res.end(
        renderAtomFeed({
          id: 'o',
          title: 'Order',
          updated: 'x',
          entries: published.map((id) => ({ id: `o:${id}`, title: `Order ${id}`, updated: 'x', href: `/order/${id}` })),
        }),
      );
    res.end(JSON.stringify(orders[Number(req.url?.split('/').pop())]));
  });
  await new Promise<void>((r) => order.listen(0, '127.0.0.1', r));
  const db = await openBonusDb({
    databaseUrl: DATABASE_URL,
    dataDir: '',
    schema: `bonus_t${process.pid}_${Date.now()}`,
  });
  const { server } = buildBonus({
    db,
    orderUrl: `http://127.0.0.1:${(order.address() as AddressInfo).port}`,
    logger: quiet,
  });
  const running = await startDemo(server, '127.0.0.1', 0);
  const base = `http://${running.address}`;
  try {
    await demoRequest(`${base}/bonus/poll`, { method: 'POST', proxy: null });
    expect((await demoRequest(`${base}/bonus`, { proxy: null })).body).toContain(
      'does not publish a <code>revenue</code> field',
    );
    published = [1, 2];
    await demoRequest(`${base}/bonus/poll`, { method: 'POST', proxy: null });
    const list = JSON.parse(
      (await demoRequest(`${base}/bonus`, { proxy: null, headers: { accept: 'application/json' } })).body,
    );
    expect(list.bonuses).toEqual([
      { id: 1, customer: 'Ada', revenue: null },
      { id: 2, customer: 'Ada', revenue: 42 },
    ]);
    expect(list.missingRevenue).toBe(1);
  } finally {
    await running.stop();
    await db.dropSchema();
    await db.close();
    await new Promise((r) => order.close(r));
  }
});
