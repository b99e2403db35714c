/**
 * bookinfo `reviews`, one app for v1/v2/v3 chosen by `VERSION`: v1 shows no
 * stars and never calls ratings, v2 black stars, v3 red stars. Each response
 * names the pod that served it (`podname`). Trace headers and `end-user` are
 * copied to the ratings call.
 */
import {
  createDemoServer,
  getJson,
  propagateHeaders,
  serverSpecs,
  type DemoServer,
  type DemoLogger,
} from '@tsmesh/demo-kit';
import { hostname } from 'node:os';

export const reviewsSpecs = {
  ...serverSpecs(9080),
  version: {
    kind: 'string',
    default: 'v1',
    description: 'v1 (no stars), v2 (black stars) or v3 (red stars)',
    env: 'VERSION',
  },
  ratingsUrl: {
    kind: 'string',
    default: 'http://ratings:9080',
    description: 'base URL of the ratings service',
    env: 'RATINGS_URL',
  },
  podName: {
    kind: 'string',
    default: '',
    description: 'pod name reported as podname (default $HOSTNAME)',
    env: 'POD_NAME',
  },
  clusterName: {
    kind: 'string',
    default: 'null',
    description: 'cluster name reported as clustername',
    env: 'CLUSTER_NAME',
  },
} as const;

export interface ReviewsOptions {
  version: string;
  ratingsUrl: string;
  podName?: string;
  clusterName?: string;
  logLevel?: string;
  logger?: DemoLogger;
}

const REVIEWS = [
  { reviewer: 'Reviewer1', text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!' },
  {
    reviewer: 'Reviewer2',
    text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.',
  },
];

export function buildReviews(options: ReviewsOptions): DemoServer {
  if (!['v1', 'v2', 'v3'].includes(options.version))
    throw new Error(`VERSION must be v1, v2 or v3, not ${options.version}`);
  const server = createDemoServer({ app: 'reviews', logger: options.logger, logLevel: options.logLevel });
  const podname = options.podName || process.env['HOSTNAME'] || hostname();
  const withRatings = options.version !== 'v1';
  const color = options.version === 'v3' ? 'red' : 'black';
  // upstream: v2 waits 10 s for ratings, v3 2.5 s
  const ratingsTimeout = options.version === 'v3' ? 2500 : 10_000;
  server.fastify.get<{ Params: { id: string } }>('/reviews/:id', async (req, reply) => {
    const id = req.params.id;
    if (!/^\d+$/.test(id)) return reply.code(400).send({ error: 'please provide numeric product id' });
    let ratings: Record<string, number> | null = null;
    if (withRatings) {
      try {
        const r = await getJson<{ ratings: Record<string, number> }>(`${options.ratingsUrl}/ratings/${id}`, {
          headers: propagateHeaders(req.headers),
          timeoutMs: ratingsTimeout,
        });
        ratings = r.ratings;
      } catch (e) {
        req.log.warn({ err: (e as Error).message }, 'ratings call failed');
      }
    }
    return {
      id,
      podname,
      clustername: options.clusterName ?? 'null',
      reviews: REVIEWS.map((r) => {
        if (!withRatings) return { ...r };
        if (!ratings) return { ...r, rating: { error: 'Ratings service is currently unavailable' } };
        const stars = ratings[r.reviewer];
        return stars === undefined ? { ...r } : { ...r, rating: { stars, color } };
      }),
    };
  });
  return server;
}
