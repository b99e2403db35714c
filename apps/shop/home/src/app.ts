/**
 * shop `home`: the static front page (Apache httpd in the seed) with links to
 * order, shipping and invoicing. Bonus is deliberately not linked (the seed:
 * "The bonus microservice is not included in the static web page").
 */
import { createDemoServer, page, serverSpecs, type DemoLogger, type DemoServer } from '@tsmesh/demo-kit';

export const homeSpecs = { ...serverSpecs(8080) };

export const HOME_HTML = page(
  'Order Processing',
  `<h1>Order Processing</h1>
<ul>
<li><a href="/order/">Order</a>: create and list orders</li>
<li><a href="/shipping/">Shipping</a>: shipments polled from the order feed</li>
<li><a href="/invoicing/">Invoicing</a>: invoices polled from the order feed</li>
</ul>`,
);

export function buildHome(options: { logger?: DemoLogger; logLevel?: string } = {}): DemoServer {
  const server = createDemoServer({ app: 'home', ...options });
  server.fastify.get('/', async (_req, reply) => reply.type('text/html').send(HOME_HTML));
  server.fastify.get('/index.html', async (_req, reply) => reply.type('text/html').send(HOME_HTML));
  return server;
}
