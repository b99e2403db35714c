import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock, silentLogger } from '@tsmesh/core';
import { JwksCache } from './jwks-cache';

let body = '{"keys":[{"kty":"EC","kid":"a"}]}';
let status = 200;
let hits = 0;
const server = http.createServer((_req, res) => {
  hits++;
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);
});
let uri = '';

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

test('fetches on first use, refreshes on schedule, keeps the last good copy on failure', async () => {
  const clock = new FakeClock();
  const changes: string[] = [];
  const cache = new JwksCache({
    clock,
    logger: silentLogger(),
    refreshMs: 60_000,
    retryMs: 1000,
    onChange: (u) => changes.push(u),
  });
  try {
    expect(cache.get(uri)).toBeUndefined();
    await cache.refresh(uri);
    expect(cache.get(uri)).toBe(body);
    expect(changes).toEqual([uri]);
    status = 500;
    await cache.refresh(uri);
    expect(cache.get(uri)).toBe(body);
    status = 200;
    body = '{"keys":[]}';
    await cache.refresh(uri);
    expect(cache.get(uri)).toBe('{"keys":[]}');
    expect(changes).toHaveLength(2);
    expect(hits).toBeGreaterThanOrEqual(3);
  } finally {
    cache.stop();
  }
});
