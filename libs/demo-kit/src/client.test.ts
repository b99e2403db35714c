import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { demoRequest, getJson, DemoHttpError } from './client';

let server: http.Server;
let base: string;
const seen: { url?: string; host?: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ url: req.url, host: req.headers.host });
    if (req.url?.includes('slow')) return void setTimeout(() => res.end('late'), 2000);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

test('goes direct without HTTP_PROXY', async () => {
  await expect(getJson(`${base}/x`, { env: {} })).resolves.toEqual({ ok: true });
  expect(seen.at(-1)?.url).toBe('/x');
});

test('sends absolute-form requests to HTTP_PROXY, except NO_PROXY hosts', async () => {
  const res = await demoRequest('http://reviews:9080/reviews/0', { env: { HTTP_PROXY: base } });
  expect(res.status).toBe(200);
  expect(seen.at(-1)).toEqual({ url: 'http://reviews:9080/reviews/0', host: 'reviews:9080' });
  await demoRequest(`${base}/direct`, { env: { HTTP_PROXY: 'http://127.0.0.1:1', NO_PROXY: '127.0.0.1' } });
  expect(seen.at(-1)?.url).toBe('/direct');
});

test('times out and reports connection failures as DemoHttpError', async () => {
  await expect(demoRequest(`${base}/slow`, { timeoutMs: 50, env: {} })).rejects.toMatchObject({ kind: 'timeout' });
  await expect(demoRequest('http://127.0.0.1:1/', { env: {} })).rejects.toBeInstanceOf(DemoHttpError);
});
