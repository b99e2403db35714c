/**
 * shop `order`: create, list and show orders (HTML form and JSON), and publish
 * them as an Atom feed at `/order/feed` for shipping, invoicing and bonus.
 * `FAILRANDOMLY=true` fails half of all requests with 500, which the chapter's
 * `failing-order-service.yaml` turns on and `retry.yaml` hides.
 */
import {
  createDemoServer,
  escapeHtml as e,
  openSql,
  page,
  renderAtomFeed,
  databaseSpecs,
  serverSpecs,
  wantsJson,
  type DemoLogger,
  type DemoServer,
  type SqlDb,
} from '@tsmesh/demo-kit';
import {
  createOrder,
  deleteOrder,
  getOrder,
  ITEMS,
  listOrders,
  migrate,
  validateOrder,
  type NewOrder,
  type Order,
} from './store';

export const orderSpecs = {
  ...serverSpecs(8080),
  ...databaseSpecs('order'),
  failRandomly: {
    kind: 'bool',
    default: false,
    description: 'fail half of all requests with HTTP 500',
    env: 'FAILRANDOMLY',
  },
  publishRevenue: {
    kind: 'bool',
    default: false,
    description: 'add the revenue field bonus needs to each order',
    env: 'PUBLISH_REVENUE',
  },
} as const;

export interface OrderAppOptions {
  db: SqlDb;
  failRandomly?: boolean;
  publishRevenue?: boolean;
  random?: () => number;
  logger?: DemoLogger;
  logLevel?: string;
}

function parseNewOrder(body: Record<string, unknown>): NewOrder {
  const str = (k: string) => String(body[k] ?? '');
  let lines: { item: string; count: number }[] = [];
  if (Array.isArray(body['lines'])) {
    lines = (body['lines'] as { item?: unknown; count?: unknown }[]).map((l) => ({
      item: String(l.item ?? ''),
      count: Number(l.count),
    }));
  } else {
    // HTML form: one count field per item, `count_<item>`; blank or 0 means none
    for (const item of Object.keys(ITEMS)) {
      const raw = str(`count_${item}`).trim();
      if (raw && raw !== '0') lines.push({ item, count: Number(raw) });
    }
  }
  return { customer: str('customer'), street: str('street'), zip: str('zip'), city: str('city'), lines };
}

function orderTable(orders: Order[]): string {
  const rows = orders
    .map(
      (o) =>
        `<tr><td><a href="/order/${o.id}">${o.id}</a></td><td>${e(o.customer)}</td><td>${e(o.shippingAddress.city)}</td><td>${o.numberOfLines}</td><td>${o.totalPrice.toFixed(2)}</td><td>${e(o.updated)}</td></tr>`,
    )
    .join('\n');
  const form = `<h2>New order</h2><form method="POST" action="/order/">
<p>Customer <input name="customer"> Street <input name="street"> ZIP <input name="zip"> City <input name="city"></p>
${Object.keys(ITEMS)
  .map((i) => `<p>${e(i)} (${ITEMS[i].toFixed(2)}) <input name="count_${e(i)}" size="3" value="0"></p>`)
  .join('\n')}
<button type="submit">Add order</button></form>`;
  return page(
    'Order',
    `<h1>Orders</h1><p><a href="/">Home</a> | <a href="/order/feed">Atom feed</a></p>
<table><tr><th>id</th><th>customer</th><th>city</th><th>lines</th><th>total</th><th>updated</th></tr>${rows}</table>${form}`,
  );
}

export function buildOrder(options: OrderAppOptions): DemoServer {
  const { db } = options;
  const server = createDemoServer({ app: 'order', logger: options.logger, logLevel: options.logLevel });
  const f = server.fastify;
  const random = options.random ?? Math.random;
  const withRevenue = options.publishRevenue ?? false;
  f.addHook('onRequest', async (req, reply) => {
    if (!options.failRandomly || !req.url.startsWith('/order')) return;
    if (random() < 0.5) return reply.code(500).type('text/plain').send('FAILRANDOMLY: this request failed on purpose');
  });
  const list = async (
    req: { headers: { accept?: string } },
    reply: { type(t: string): { send(b: string): unknown } },
  ) => {
    const orders = await listOrders(db, withRevenue);
    if (wantsJson(req.headers.accept)) return orders;
    return reply.type('text/html').send(orderTable(orders));
  };
  f.get('/order', list);
  f.get('/order/', list);
  f.get('/order/feed', async (_req, reply) => {
    const orders = await listOrders(db, withRevenue);
    const updated = orders.reduce((m, o) => (o.updated > m ? o.updated : m), new Date(0).toISOString());
    reply.header('last-modified', new Date(updated).toUTCString());
    return reply.type('application/atom+xml').send(
      renderAtomFeed({
        id: 'tag:tsmesh,2026:order',
        title: 'Order',
        updated,
        entries: orders.map((o) => ({
          id: `tag:tsmesh,2026:order:${o.id}`,
          title: `Order ${o.id}`,
          updated: o.updated,
          href: `/order/${o.id}`,
        })),
      }),
    );
  });
  const create = async (
    req: { body: unknown; headers: { accept?: string; 'content-type'?: string } },
    reply: import('fastify').FastifyReply,
  ) => {
    const o = parseNewOrder((req.body ?? {}) as Record<string, unknown>);
    const errors = validateOrder(o);
    const json = !String(req.headers['content-type'] ?? '').includes('form');
    if (errors.length) {
      if (json) return reply.code(400).send({ errors });
      return reply
        .code(400)
        .type('text/html')
        .send(page('Order', `<p class="error">${errors.map(e).join('<br>')}</p><p><a href="/order">back</a></p>`));
    }
    const id = await createOrder(db, o);
    if (json)
      return reply
        .code(201)
        .header('location', `/order/${id}`)
        .send(await getOrder(db, id, withRevenue));
    return reply.redirect('/order', 303);
  };
  f.post('/order', create);
  f.post('/order/', create);
  f.get<{ Params: { id: string } }>('/order/:id', async (req, reply) => {
    const id = Number(req.params.id);
    const order = Number.isInteger(id) ? await getOrder(db, id, withRevenue) : null;
    if (!order) return reply.code(404).send({ error: `order ${req.params.id} not found` });
    if (wantsJson(req.headers.accept) || !req.headers.accept?.includes('text/html')) return order;
    return reply.type('text/html').send(
      page(
        `Order ${order.id}`,
        `<h1>Order ${order.id}</h1><p>${e(order.customer)}, ${e(order.shippingAddress.street)}, ${e(order.shippingAddress.zip)} ${e(order.shippingAddress.city)}</p>
<table>${order.orderLine.map((l) => `<tr><td>${e(l.item)}</td><td>${l.count}</td><td>${l.price.toFixed(2)}</td></tr>`).join('')}</table>
<p>Total ${order.totalPrice.toFixed(2)}</p><p><a href="/order">all orders</a></p>`,
      ),
    );
  });
  f.delete<{ Params: { id: string } }>('/order/:id', async (req, reply) => {
    const ok = await deleteOrder(db, Number(req.params.id));
    return ok ? reply.code(204).send() : reply.code(404).send({ error: `order ${req.params.id} not found` });
  });
  return server;
}

export async function openOrderDb(s: { databaseUrl: string; dataDir: string; schema: string }): Promise<SqlDb> {
  const db = await openSql({
    databaseUrl: s.databaseUrl || undefined,
    dataDir: s.dataDir || undefined,
    schema: s.schema,
  });
  await migrate(db);
  return db;
}
