/**
 * bookrating `book-service`: `GET /book/<id>` → `{"bookId":1,"name":"Book 1","rating":N}`,
 * asking the `rating` service for N (through the sidecar when HTTP_PROXY is set).
 */
import {
  createDemoServer,
  getJson,
  propagateHeaders,
  serverSpecs,
  type DemoLogger,
  type DemoServer,
} from '@tsmesh/demo-kit';

export const bookSpecs = {
  ...serverSpecs(8080),
  ratingUrl: {
    kind: 'string',
    default: 'http://rating:8080',
    description: 'base URL of the rating service',
    env: 'RATING_URL',
  },
  ratingTimeoutMs: {
    kind: 'int',
    default: 10000,
    description: 'timeout of the rating call in ms',
    env: 'RATING_TIMEOUT_MS',
  },
} as const;

export function buildBookService(options: {
  ratingUrl: string;
  ratingTimeoutMs?: number;
  logLevel?: string;
  logger?: DemoLogger;
}): DemoServer {
  const server = createDemoServer({ app: 'book-service', logger: options.logger, logLevel: options.logLevel });
  server.fastify.get<{ Params: { id: string } }>('/book/:id', async (req, reply) => {
    const bookId = Number(req.params.id);
    if (!Number.isInteger(bookId)) return reply.code(400).send({ error: 'id must be a number' });
    try {
      const r = await getJson<{ rating: number }>(`${options.ratingUrl}/rate/${bookId}`, {
        headers: propagateHeaders(req.headers),
        timeoutMs: options.ratingTimeoutMs ?? 10_000,
      });
      return { bookId, name: `Book ${bookId}`, rating: r.rating };
    } catch (e) {
      req.log.warn({ err: (e as Error).message }, 'rating call failed');
      return reply.code(503).send({ error: 'rating service unavailable' });
    }
  });
  return server;
}
