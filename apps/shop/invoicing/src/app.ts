/**
 * shop `invoicing`: polls the order feed (every 30 s, or on the page's "poll"
 * button) and keeps an invoice per order (billing address, lines, total) in its own schema. A failed poll is
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

export const invoicingSpecs = {
  ...serverSpecs(8080),
  ...databaseSpecs('invoicing'),
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
  billingAddress: { street: string; zip: string; city: string };
  orderLine: { item: string; count: number; price: number }[];
  totalPrice: number;
  updated: string;
}

interface Invoice {
  id: number;
  customer: string;
  street: string;
  zip: string;
  city: string;
  items: { item: string; count: number; price: number }[];
  total: number;
  updated: string;
}

export async function openInvoicingDb(s: { databaseUrl: string; dataDir: string; schema: string }): Promise<SqlDb> {
  const db = await openSql({
    databaseUrl: s.databaseUrl || undefined,
    dataDir: s.dataDir || undefined,
    schema: s.schema,
  });
  await db.exec(`CREATE TABLE IF NOT EXISTS invoices (
    id integer PRIMARY KEY, customer text NOT NULL, street text, zip text, city text, items jsonb NOT NULL, total numeric NOT NULL, updated timestamptz NOT NULL)`);
  return db;
}

export function buildInvoicing(options: {
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
  const server = createDemoServer({ app: 'invoicing', logger: options.logger, logLevel: options.logLevel });
  const poller = new FeedPoller<OrderDoc>({
    orderUrl: options.orderUrl,
    isKnown: async (id) => (await db.query('SELECT 1 FROM invoices WHERE id = $1', [id])).length > 0,
    store: async (o) => {
      await db.query(
        'INSERT INTO invoices (id, customer, street, zip, city, items, total, updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (id) DO NOTHING',
        [
          o.id,
          o.customer,
          o.billingAddress?.street,
          o.billingAddress?.zip,
          o.billingAddress?.city,
          JSON.stringify(o.orderLine ?? []),
          Number(o.totalPrice ?? 0),
          o.updated,
        ],
      );
    },
  });
  const all = async (): Promise<Invoice[]> =>
    (await db.query<Invoice & { updated: Date | string; items: unknown }>('SELECT * FROM invoices ORDER BY id')).map(
      (r) => ({
        ...r,
        items: typeof r.items === 'string' ? JSON.parse(r.items) : (r.items as Invoice['items']),
        total: Number(r.total),
        updated: new Date(r.updated).toISOString(),
      }),
    );
  const f = server.fastify;
  const list = async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
    const invoices = await all();
    if (wantsJson(req.headers.accept)) return { invoices, lastPoll: poller.last };
    const status = poller.last
      ? poller.last.ok
        ? `<p>Last poll ${e(poller.last.at)}: ${poller.last.added} new</p>`
        : `<p class="error">Last poll ${e(poller.last.at)} failed: ${e(poller.last.error)}</p>`
      : '<p>Not polled yet.</p>';
    const rows = invoices
      .map(
        (s) =>
          `<tr><td><a href="/invoicing/${s.id}">${s.id}</a></td><td>${e(s.customer)}</td><td>${e(s.street)}, ${e(s.zip)} ${e(s.city)}</td><td>${s.items.map((i) => `${i.count} × ${e(i.item)}`).join(', ')}</td><td>${s.total.toFixed(2)}</td></tr>`,
      )
      .join('\n');
    return reply.type('text/html').send(
      page(
        'Invoicing',
        `<h1>Invoicing</h1><p><a href="/">Home</a></p>${status}<form method="POST" action="/invoicing/poll"><button type="submit">Poll</button></form>
<table><tr><th>order</th><th>customer</th><th>address</th><th>items</th><th>total</th></tr>${rows}</table>`,
      ),
    );
  };
  f.get('/invoicing', list);
  f.get('/invoicing/', list);
  f.post('/invoicing/poll', async (req, reply) => {
    const result = await poller.poll(propagateHeaders(req.headers));
    if (wantsJson(req.headers.accept) || !String(req.headers['content-type'] ?? '').includes('form'))
      return reply.code(result.ok ? 200 : 502).send(result);
    return reply.redirect('/invoicing', 303);
  });
  f.get<{ Params: { id: string } }>('/invoicing/:id', async (req, reply) => {
    const s = (await all()).find((x) => String(x.id) === req.params.id);
    return s ?? reply.code(404).send({ error: `invoice ${req.params.id} not found` });
  });
  return { server, poller };
}
