import { createDemoLogger, demoRequest, startDemo } from '@tsmesh/demo-kit';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { buildReviews } from './app';

const quiet = createDemoLogger('reviews', 'silent', new Writable({ write: (_c, _e, cb) => cb() }));
let ratings: http.Server;
let ratingsUrl: string;
const ratingsCalls: http.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  ratings = http.createServer((req, res) => {
    ratingsCalls.push(req.headers);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } }));
  });
  await new Promise<void>((r) => ratings.listen(0, '127.0.0.1', r));
  ratingsUrl = `http://127.0.0.1:${(ratings.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => ratings.close(r)));

async function get(version: string, url = ratingsUrl, headers: Record<string, string> = {}) {
  const running = await startDemo(
    buildReviews({ version, ratingsUrl: url, podName: `reviews-${version}-abc`, logger: quiet }),
    '127.0.0.1',
    0,
  );
  try {
    return JSON.parse((await demoRequest(`http://${running.address}/reviews/0`, { proxy: null, headers })).body);
  } finally {
    await running.stop();
  }
}

test('v1 has no stars and does not call ratings', async () => {
  const before = ratingsCalls.length;
  const body = await get('v1');
  expect(body).toMatchObject({ id: '0', podname: 'reviews-v1-abc', clustername: 'null' });
  expect(body.reviews).toHaveLength(2);
  expect(body.reviews[0].rating).toBeUndefined();
  expect(ratingsCalls.length).toBe(before);
});

test('v2 black stars, v3 red stars; trace headers and end-user reach ratings', async () => {
  const v2 = await get('v2', ratingsUrl, {
    'x-request-id': 'req-1',
    'x-b3-traceid': 'abc',
    'end-user': 'jason',
    cookie: 'no',
  });
  expect(v2.reviews[0]).toMatchObject({ reviewer: 'Reviewer1', rating: { stars: 5, color: 'black' } });
  expect(ratingsCalls.at(-1)).toMatchObject({ 'x-request-id': 'req-1', 'x-b3-traceid': 'abc', 'end-user': 'jason' });
  expect(ratingsCalls.at(-1)?.cookie).toBeUndefined();
  const v3 = await get('v3');
  expect(v3.reviews[1]).toMatchObject({ reviewer: 'Reviewer2', rating: { stars: 4, color: 'red' } });
});

test('ratings down → "Ratings service is currently unavailable"', async () => {
  const body = await get('v2', 'http://127.0.0.1:1');
  expect(body.reviews[0].rating).toEqual({ error: 'Ratings service is currently unavailable' });
});

test('an unknown VERSION is refused at start', () => {
  expect(() => buildReviews({ version: 'v9', ratingsUrl, logger: quiet })).toThrow(/VERSION must be/);
});
