/**
 * bookrating `rating`: `GET /rate/<bookId>` → `{bookId, rating}`. v1 always
 * rates 1; v2 rates with a random number fixed at start-up. `/rate/misbehave`
 * makes every later rating answer 503 until `/rate/behave`. One log line per
 * request (`Request N`), as the article's `kubectl logs` shows.
 */
import { createDemoServer, serverSpecs, type DemoLogger, type DemoServer } from '@tsmesh/demo-kit';

export const ratingSpecs = {
  ...serverSpecs(8080),
  version: {
    kind: 'string',
    default: 'v1',
    description: 'v1 (always 1) or v2 (random, fixed at start-up)',
    env: 'VERSION',
  },
} as const;

export interface RatingOptions {
  version: string;
  /** Source of v2's rating; defaults to Math.random. */
  random?: () => number;
  logLevel?: string;
  logger?: DemoLogger;
}

export function buildRating(options: RatingOptions): DemoServer {
  if (!['v1', 'v2'].includes(options.version)) throw new Error(`VERSION must be v1 or v2, not ${options.version}`);
  const server = createDemoServer({ app: 'rating', logger: options.logger, logLevel: options.logLevel });
  const rating = options.version === 'v1' ? 1 : 1 + Math.floor((options.random ?? Math.random)() * 5);
  let misbehave = false;
  let requests = 0;
  const f = server.fastify;
  f.get('/rate/misbehave', async (_req, reply) => {
    misbehave = true;
    return reply.type('text/plain').send('Ratings endpoint returns 503 error.');
  });
  f.get('/rate/behave', async (_req, reply) => {
    misbehave = false;
    return reply.type('text/plain').send('Back to normal');
  });
  f.get<{ Params: { bookId: string } }>('/rate/:bookId', async (req, reply) => {
    requests++;
    req.log.info({ version: options.version, request: requests }, `Request ${requests}`);
    if (misbehave) return reply.code(503).type('text/plain').send('Service Unavailable');
    const bookId = Number(req.params.bookId);
    if (!Number.isInteger(bookId)) return reply.code(400).send({ error: 'bookId must be a number' });
    return { bookId, rating };
  });
  return server;
}
