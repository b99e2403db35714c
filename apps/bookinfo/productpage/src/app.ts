/**
 * bookinfo `productpage`: the HTML product page (details + reviews), login as a
 * user that is forwarded as `end-user`, and the JSON API under `/api/v1/products`.
 */
import {
  createDemoServer,
  propagateHeaders,
  serverSpecs,
  wantsJson,
  type DemoLogger,
  type DemoServer,
} from '@tsmesh/demo-kit';
import type { FastifyRequest } from 'fastify';
import { PRODUCTS, renderIndex, renderProductPage } from './render';
import { fetchDetails, fetchRatings, fetchReviews, type Upstreams } from './upstreams';

export const productpageSpecs = {
  ...serverSpecs(9080),
  detailsUrl: {
    kind: 'string',
    default: 'http://details:9080',
    description: 'base URL of details',
    env: 'DETAILS_URL',
  },
  reviewsUrl: {
    kind: 'string',
    default: 'http://reviews:9080',
    description: 'base URL of reviews',
    env: 'REVIEWS_URL',
  },
  ratingsUrl: {
    kind: 'string',
    default: 'http://ratings:9080',
    description: 'base URL of ratings',
    env: 'RATINGS_URL',
  },
  upstreamTimeoutMs: {
    kind: 'int',
    default: 3000,
    description: "productpage's own per-call timeout in ms (reviews gets one retry)",
    env: 'UPSTREAM_TIMEOUT_MS',
  },
} as const;

function userOf(req: FastifyRequest): string {
  const cookie = req.headers.cookie ?? '';
  const m = /(?:^|;\s*)user=([^;]*)/.exec(cookie);
  return m ? decodeURIComponent(m[1]) : '';
}

/** Trace headers of the inbound request plus `end-user` from the login cookie. */
function outboundHeaders(req: FastifyRequest): Record<string, string> {
  const h = propagateHeaders(req.headers);
  const user = userOf(req);
  if (user) h['end-user'] = user;
  return h;
}

export function buildProductpage(u: Upstreams & { logLevel?: string; logger?: DemoLogger }): DemoServer {
  const server = createDemoServer({ app: 'productpage', logger: u.logger, logLevel: u.logLevel });
  const f = server.fastify;
  f.get('/', async (_req, reply) => reply.type('text/html').send(renderIndex()));
  f.get('/productpage', async (req, reply) => {
    const headers = outboundHeaders(req);
    const [details, reviews] = await Promise.all([fetchDetails(u, 0, headers), fetchReviews(u, 0, headers)]);
    const user = userOf(req);
    if (wantsJson(req.headers.accept)) {
      return {
        product: PRODUCTS[0],
        user: user || null,
        details: details.ok ? details.value : { error: details.error },
        reviews: reviews.ok ? reviews.value : { error: reviews.error },
      };
    }
    return reply.type('text/html').send(renderProductPage(user, details, reviews));
  });
  f.post<{ Body: Record<string, string> | undefined }>('/login', async (req, reply) => {
    const user = String(req.body?.['username'] ?? '').trim();
    reply.header('set-cookie', `user=${encodeURIComponent(user)}; Path=/`);
    return reply.redirect('/productpage', 302);
  });
  f.get('/logout', async (_req, reply) => {
    reply.header('set-cookie', 'user=; Path=/; Max-Age=0');
    return reply.redirect('/productpage', 302);
  });
  f.get('/api/v1/products', async () => PRODUCTS);
  const idOf = (raw: string) => (/^\d+$/.test(raw) ? Number(raw) : null);
  f.get<{ Params: { id: string } }>('/api/v1/products/:id', async (req, reply) => {
    const id = idOf(req.params.id);
    if (id === null) return reply.code(400).send({ error: 'please provide numeric product id' });
    const r = await fetchDetails(u, id, outboundHeaders(req));
    return r.ok ? r.value : reply.code(503).send({ error: r.error });
  });
  f.get<{ Params: { id: string } }>('/api/v1/products/:id/reviews', async (req, reply) => {
    const id = idOf(req.params.id);
    if (id === null) return reply.code(400).send({ error: 'please provide numeric product id' });
    const r = await fetchReviews(u, id, outboundHeaders(req));
    return r.ok ? r.value : reply.code(503).send({ error: r.error });
  });
  f.get<{ Params: { id: string } }>('/api/v1/products/:id/ratings', async (req, reply) => {
    const id = idOf(req.params.id);
    if (id === null) return reply.code(400).send({ error: 'please provide numeric product id' });
    const r = await fetchRatings(u, id, outboundHeaders(req));
    return r.ok ? r.value : reply.code(503).send({ error: r.error });
  });
  return server;
}
