/**
 * bookinfo `ratings`: `GET /ratings/<id>` → `{id, ratings: {Reviewer1: 5, Reviewer2: 4}}`;
 * `POST /ratings/<id>` with `{Reviewer1: n, ...}` stores ratings for that book
 * (in memory, as the upstream v1 does).
 */
import { createDemoServer, serverSpecs, type DemoServer, type DemoLogger } from '@tsmesh/demo-kit';

export const ratingsSpecs = { ...serverSpecs(9080) };

export function buildRatings(options: { logLevel?: string; logger?: DemoLogger } = {}): DemoServer {
  const server = createDemoServer({ app: 'ratings', ...options });
  const stored = new Map<number, Record<string, number>>();
  server.fastify.get<{ Params: { id: string } }>('/ratings/:id', async (req, reply) => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id)) return reply.code(400).send({ error: 'please provide numeric product ID' });
    return { id, ratings: stored.get(id) ?? { Reviewer1: 5, Reviewer2: 4 } };
  });
  server.fastify.post<{ Params: { id: string }; Body: Record<string, unknown> }>('/ratings/:id', async (req, reply) => {
    const id = Number(req.params.id);
    const body = req.body ?? {};
    const ratings: Record<string, number> = {};
    for (const [k, v] of Object.entries(body)) {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 5)
        return reply.code(400).send({ error: 'please provide valid ratings JSON' });
      ratings[k] = n;
    }
    if (!Number.isInteger(id) || Object.keys(ratings).length === 0)
      return reply.code(400).send({ error: 'please provide valid ratings JSON' });
    stored.set(id, ratings);
    return { id, ratings };
  });
  return server;
}
