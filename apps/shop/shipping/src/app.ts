/**
 * shop `shipping`: polls the order feed (every 30 s, or on the page's "poll"
 * button) and keeps a shipment per order in its own schema. A failed poll is
 * shown on the page; the service keeps working.
 */
import {
  createDemoServer,
  escapeHtml as e,
  FeedPoller,
  openSql,
  page,
  propagateHeaders,
  databaseSpecs,
  serverSpecs,
  wantsJson,
  type DemoLogger,
  type DemoServer,
  type SqlDb,
} from '@tsmesh/demo-kit';

export const shippingSpecs = {
  ...serverSpecs(8080),
  ...databaseSpecs('shipping'),
  orderUrl: {
    kind: 'string',
    default: 'http://order:8080',
    description: 'base URL of the order service',
    env: 'ORDER_URL',
  },
  pollIntervalMs: {
    kind: 'int',
    default: 30000,
    description: 'feed poll interval in ms (0: only on demand)',
    env: 'POLL_INTERVAL_MS',
  },
} as const;

interface OrderDoc {
  id: number;
  customer: string;
  shippingAddress: { street: string; zip: string; city: string };
  orderLine: { item: string; count: number }[];
  updated: string;
}

interface Shipment {
  id: number;
  customer: string;
  street: string;
  zip: string;
  city: string;
  items: { item: string; count: number }[];
  updated: string;
}

export async function openShippingDb(s: { databaseUrl: string; dataDir: string; schema: string }): Promise<SqlDb> {
  const db = await openSql({
    databaseUrl: s.databaseUrl || undefined,
    dataDir: s.dataDir || undefined,
    schema: s.schema,
  });
  await db.exec(`CREATE TABLE IF NOT EXISTS shipments (
    id integer PRIMARY KEY, customer text NOT NULL, street text, zip text, city text, items jsonb NOT NULL, updated timestamptz NOT NULL)`);
  return db;
}

export function buildShipping(options: {
  db: SqlDb;
  orderUrl: string;
  pollIntervalMs?: number;
  logger?: DemoLogger;
  logLevel?: string;
}): {
  server: DemoServer;
  poller: FeedPoller<OrderDoc>;
} {
  const { db } = options;
  const server = createDemoServer({ app: 'shipping', logger: options.logger, logLevel: options.logLevel });
  const poller = new FeedPoller<OrderDoc>({
    orderUrl: options.orderUrl,
    isKnown: async (id) => (await db.query('SELECT 1 FROM shipments WHERE id = $1', [id])).length > 0,
    store: async (o) => {
      await db.query(
        'INSERT INTO shipments (id, customer, street, zip, city, items, updated) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (id) DO NOTHING',
        [
          o.id,
          o.customer,
          o.shippingAddress?.street,
          o.shippingAddress?.zip,
          o.shippingAddress?.city,
          JSON.stringify(o.orderLine ?? []),
          o.updated,
        ],
      );
    },
  });
  const all = async (): Promise<Shipment[]> =>
    (await db.query<Shipment & { updated: Date | string; items: unknown }>('SELECT * FROM shipments ORDER BY id')).map(
      (r) => ({
        ...r,
        items: typeof r.items === 'string' ? JSON.parse(r.items) : (r.items as Shipment['items']),
        updated: new Date(r.updated).toISOString(),
      }),
    );
  const f = server.fastify;
  const list = async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
    const shipments = await all();
    if (wantsJson(req.headers.accept)) return { shipments, lastPoll: poller.last };
    const status = poller.last
      ? poller.last.ok
        ? `<p>Last poll ${e(poller.last.at)}: ${poller.last.added} new</p>`
        : `<p class="error">Last poll ${e(poller.last.at)} failed: ${e(poller.last.error)}</p>`
      : '<p>Not polled yet.</p>';
    const rows = shipments
      .map(
        (s) =>
          `<tr><td><a href="/shipping/${s.id}">${s.id}</a></td><td>${e(s.customer)}</td><td>${e(s.street)}, ${e(s.zip)} ${e(s.city)}</td><td>${s.items.map((i) => `${i.count} × ${e(i.item)}`).join(', ')}</td></tr>`,
      )
      .join('\n');
    return reply.type('text/html').send(
      page(
        'Shipping',
        `<h1>Shipping</h1><p><a href="/">Home</a></p>${status}<form method="POST" action="/shipping/poll"><button type="submit">Poll</button></form>
<table><tr><th>order</th><th>customer</th><th>address</th><th>items</th></tr>${rows}</table>`,
      ),
    );
  };
  f.get('/shipping', list);
  f.get('/shipping/', list);
  f.post('/shipping/poll', async (req, reply) => {
    const result = await poller.poll(propagateHeaders(req.headers));
    if (wantsJson(req.headers.accept) || !String(req.headers['content-type'] ?? '').includes('form'))
      return reply.code(result.ok ? 200 : 502).send(result);
    return reply.redirect('/shipping', 303);
  });
  f.get<{ Params: { id: string } }>('/shipping/:id', async (req, reply) => {
    const s = (await all()).find((x) => String(x.id) === req.params.id);
    return s ?? reply.code(404).send({ error: `shipment ${req.params.id} not found` });
  });
  return { server, poller };
}
