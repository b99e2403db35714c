/**
 * bookinfo `details`: `GET /details/<id>` answers the book's details with the
 * upstream sample's JSON shape.
 */
import { createDemoServer, serverSpecs, type DemoServer, type DemoLogger } from '@tsmesh/demo-kit';

export const detailsSpecs = { ...serverSpecs(9080) };

export function bookDetails(id: number) {
  return {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  };
}

export function buildDetails(options: { logLevel?: string; logger?: DemoLogger } = {}): DemoServer {
  const server = createDemoServer({ app: 'details', ...options });
  server.fastify.get<{ Params: { id: string } }>('/details/:id', async (req, reply) => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id)) return reply.code(400).send({ error: 'please provide numeric product id' });
    return bookDetails(id);
  });
  return server;
}
