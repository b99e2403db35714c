import { createDemoLogger, demoRequest, startDemo, type RunningDemo } from '@tsmesh/demo-kit';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { buildProductpage } from './app';

const quiet = createDemoLogger('productpage', 'silent', new Writable({ write: (_c, _e, cb) => cb() }));
const calls: { url?: string; headers: http.IncomingHttpHeaders }[] = [];
let reviewsMode: 'ok' | 'hang-once' | 'down' = 'ok';
let upstream: http.Server;
let base: string;
let page: RunningDemo;

beforeAll(async () => {
  let hung = 0;
  upstream = http.createServer((req, res) => {
    calls.push({ url: req.url, headers: req.headers });
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/details/')) return void res.end(JSON.stringify({ id: 0, author: 'William Shakespeare' }));
    if (req.url?.startsWith('/ratings/'))
      return void res.end(JSON.stringify({ id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } }));
    if (reviewsMode === 'down') return void res.writeHead(503).end('{}');
    if (reviewsMode === 'hang-once' && hung++ === 0) return; // never answers: productpage's timeout + retry
    res.end(
      JSON.stringify({
        id: '0',
        podname: 'reviews-v2-x',
        reviews: [{ reviewer: 'Reviewer1', text: 'fun', rating: { stars: 5, color: 'black' } }],
      }),
    );
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const u = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  page = await startDemo(
    // The timeout only has to outlast a loaded CI machine's answer from the local upstream: with
    // 300 ms a ratings call timed out there once. The hang-once test waits for it once.
    buildProductpage({ detailsUrl: u, reviewsUrl: u, ratingsUrl: u, timeoutMs: 2000, logger: quiet }),
    '127.0.0.1',
    0,
  );
  base = `http://${page.address}`;
});
afterAll(async () => {
  await page.stop();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});
beforeEach(() => {
  reviewsMode = 'ok';
});

test('product page shows details, stars and the serving pod', async () => {
  const res = await demoRequest(`${base}/productpage`, { proxy: null });
  expect(res.status).toBe(200);
  expect(res.body).toContain('The Comedy of Errors');
  expect(res.body).toContain('full stars');
  expect(res.body).toContain('reviews-v2-x');
});

test('login sets the user cookie, which is forwarded as end-user with the trace headers', async () => {
  const login = await demoRequest(`${base}/login`, {
    method: 'POST',
    proxy: null,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'username=jason&passwd=x',
  });
  expect(login.status).toBe(302);
  expect(login.headers['set-cookie']?.[0]).toMatch(/^user=jason;/);
  await demoRequest(`${base}/productpage`, {
    proxy: null,
    headers: { cookie: 'user=jason', 'x-request-id': 'r-7', 'x-b3-sampled': '1' },
  });
  const reviewsCall = calls.filter((c) => c.url?.startsWith('/reviews/')).at(-1);
  expect(reviewsCall?.headers).toMatchObject({ 'end-user': 'jason', 'x-request-id': 'r-7', 'x-b3-sampled': '1' });
  const logout = await demoRequest(`${base}/logout`, { proxy: null });
  expect(logout.headers['set-cookie']?.[0]).toMatch(/Max-Age=0/);
});

test('reviews that time out once are retried once', async () => {
  reviewsMode = 'hang-once';
  const before = calls.filter((c) => c.url?.startsWith('/reviews/')).length;
  const res = await demoRequest(`${base}/api/v1/products/0/reviews`, { proxy: null });
  expect(res.status).toBe(200);
  expect(calls.filter((c) => c.url?.startsWith('/reviews/')).length - before).toBe(2);
});

test('unavailable reviews show the sample text; JSON API answers 503 with it', async () => {
  reviewsMode = 'down';
  const html = await demoRequest(`${base}/productpage`, { proxy: null });
  expect(html.body).toContain('Sorry, product reviews are currently unavailable for this book.');
  const api = await demoRequest(`${base}/api/v1/products/0/reviews`, { proxy: null });
  expect(api.status).toBe(503);
  expect(JSON.parse(api.body)).toEqual({ error: 'Sorry, product reviews are currently unavailable for this book.' });
});

test('JSON API: products list, details, ratings; Accept: application/json on /productpage', async () => {
  expect(JSON.parse((await demoRequest(`${base}/api/v1/products`, { proxy: null })).body)[0]).toMatchObject({
    id: 0,
    title: 'The Comedy of Errors',
  });
  expect(JSON.parse((await demoRequest(`${base}/api/v1/products/0`, { proxy: null })).body).author).toBe(
    'William Shakespeare',
  );
  expect(
    JSON.parse((await demoRequest(`${base}/api/v1/products/0/ratings`, { proxy: null })).body).ratings.Reviewer1,
  ).toBe(5);
  const json = await demoRequest(`${base}/productpage`, { proxy: null, headers: { accept: 'application/json' } });
  expect(JSON.parse(json.body)).toMatchObject({ product: { id: 0 }, details: { author: 'William Shakespeare' } });
});

test('details down → the sample text', async () => {
  const dead = await startDemo(
    buildProductpage({
      detailsUrl: 'http://127.0.0.1:1',
      reviewsUrl: 'http://127.0.0.1:1',
      ratingsUrl: 'http://127.0.0.1:1',
      timeoutMs: 300,
      logger: quiet,
    }),
    '127.0.0.1',
    0,
  );
  try {
    const res = await demoRequest(`http://${dead.address}/productpage`, { proxy: null });
    expect(res.body).toContain('Sorry, product details are currently unavailable for this book.');
    const api = await demoRequest(`http://${dead.address}/api/v1/products/0/ratings`, { proxy: null });
    expect(JSON.parse(api.body)).toEqual({ error: 'Ratings service is currently unavailable' });
  } finally {
    await dead.stop();
  }
});
