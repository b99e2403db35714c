/**
 * shop `bonus` (built and deployed separately in the seed): polls the order
 * feed like shipping and invoicing and sums each customer's revenue. Orders do
 * not publish a `revenue` field (unless order runs with PUBLISH_REVENUE), so
 * the revenue shows as missing, which is the seed's point about shared data.
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

export const bonusSpecs = {
  ...serverSpecs(8080),
  ...databaseSpecs('bonus'),
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
  revenue?: number;
  updated: string;
}

export async function openBonusDb(s: { databaseUrl: string; dataDir: string; schema: string }): Promise<SqlDb> {
  const db = await openSql({
    databaseUrl: s.databaseUrl || undefined,
    dataDir: s.dataDir || undefined,
    schema: s.schema,
  });
  await db.exec(`CREATE TABLE IF NOT EXISTS bonuses (
    id integer PRIMARY KEY, customer text NOT NULL, revenue numeric, updated timestamptz NOT NULL)`);
  return db;
}

export function buildBonus(options: { db: SqlDb; orderUrl: string; logger?: DemoLogger; logLevel?: string }): {
  server: DemoServer;
  poller: FeedPoller<OrderDoc>;
} {
  const { db } = options;
  const server = createDemoServer({ app: 'bonus', logger: options.logger, logLevel: options.logLevel });
  const poller = new FeedPoller<OrderDoc>({
    orderUrl: options.orderUrl,
    isKnown: async (id) => (await db.query('SELECT 1 FROM bonuses WHERE id = $1', [id])).length > 0,
    store: async (o) => {
      const revenue = typeof o.revenue === 'number' ? o.revenue : null;
      await db.query(
        'INSERT INTO bonuses (id, customer, revenue, updated) VALUES ($1,$2,$3,$4) ON CONFLICT (id) DO NOTHING',
        [o.id, o.customer, revenue, o.updated],
      );
    },
  });
  const f = server.fastify;
  const list = async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
    const rows = await db.query<{ id: number; customer: string; revenue: string | number | null }>(
      'SELECT * FROM bonuses ORDER BY id',
    );
    const bonuses = rows.map((r) => ({
      id: Number(r.id),
      customer: r.customer,
      revenue: r.revenue === null ? null : Number(r.revenue),
    }));
    const missing = bonuses.filter((b) => b.revenue === null).length;
    if (wantsJson(req.headers.accept)) return { bonuses, missingRevenue: missing, lastPoll: poller.last };
    const status =
      poller.last && !poller.last.ok ? `<p class="error">Last poll failed: ${e(poller.last.error)}</p>` : '';
    const note = missing
      ? `<p class="error">${missing} order(s) have no revenue: the order service does not publish a <code>revenue</code> field.</p>`
      : '';
    return reply.type('text/html').send(
      page(
        'Bonus',
        `<h1>Bonus</h1><p><a href="/">Home</a></p>${status}${note}<form method="POST" action="/bonus/poll"><button type="submit">Poll</button></form>
<table><tr><th>order</th><th>customer</th><th>revenue</th></tr>${bonuses
          .map(
            (b) =>
              `<tr><td>${b.id}</td><td>${e(b.customer)}</td><td>${b.revenue === null ? 'missing' : b.revenue.toFixed(2)}</td></tr>`,
          )
          .join('\n')}</table>`,
      ),
    );
  };
  f.get('/bonus', list);
  f.get('/bonus/', list);
  f.post('/bonus/poll', async (req, reply) => {
    const result = await poller.poll(propagateHeaders(req.headers));
    if (wantsJson(req.headers.accept) || !String(req.headers['content-type'] ?? '').includes('form'))
      return reply.code(result.ok ? 200 : 502).send(result);
    return reply.redirect('/bonus', 303);
  });
  return { server, poller };
}
