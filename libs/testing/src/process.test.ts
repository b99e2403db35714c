import http from 'node:http';
import { join } from 'node:path';
import { startScript, stopAllApps } from './process';
import { httpRequest } from './http';
import { freePort, addressOf } from './ports';
import { waitFor } from './wait';
import { tempDir } from './temp';
import { existsSync, writeFileSync } from 'node:fs';
import { makeTestCert } from './certs';
import { X509Certificate } from 'node:crypto';

const fixture = join(__dirname, '__fixtures__/tiny-app.js');

afterAll(stopAllApps);

test('startScript learns addresses from listening lines and waits for /ready', async () => {
  const app = await startScript('tiny', fixture, { ready: { http: '/ready' } });
  expect(app.addresses['http']).toMatch(/^127\.0\.0\.1:\d+$/);
  const res = await httpRequest(`${app.url()}/x`);
  expect(res).toMatchObject({ status: 200, body: 'hello' });
});

test('stop drains: an in-flight request finishes before exit', async () => {
  const app = await startScript('tiny', fixture, { ready: { listeners: ['http'] } });
  const slow = httpRequest(`${app.url()}/slow`);
  await new Promise((r) => setTimeout(r, 50));
  const code = await app.stop();
  expect(code).toBe(0);
  await expect(slow).resolves.toMatchObject({ body: 'slow done' });
  expect(app.logs.some((l) => l.includes('draining'))).toBe(true);
});

test('a process that exits before ready is reported with its logs', async () => {
  const dir = tempDir();
  const script = join(dir.path, 'crash.js');
  writeFileSync(script, "console.error('boom: bad flag'); process.exit(2);");
  await expect(startScript('crash', script, { ready: { listeners: ['http'] } })).rejects.toThrow(
    /exited with code 2[\s\S]*boom/,
  );
  dir.cleanup();
  expect(existsSync(dir.path)).toBe(false);
});

test('freePort, addressOf, waitFor and httpRequest via a proxy', async () => {
  const port = await freePort();
  expect(port).toBeGreaterThan(0);
  const seen: string[] = [];
  const proxy = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    res.end('via proxy');
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const res = await httpRequest('http://reviews:9080/reviews/0', { proxy: `http://${addressOf(proxy)}` });
  expect(res.body).toBe('via proxy');
  expect(seen).toEqual(['http://reviews:9080/reviews/0']);
  proxy.close();
  let n = 0;
  await expect(waitFor(() => ++n >= 3, { intervalMs: 1 })).resolves.toBe(true);
  await expect(waitFor(() => false, { timeoutMs: 50, what: 'nothing' })).rejects.toThrow(/waiting for nothing/);
});

test('makeTestCert gives a CA-signed leaf with the requested SANs', () => {
  const c = makeTestCert('reviews', { uri: ['spiffe://cluster.local/ns/default/sa/bookinfo-reviews'] });
  const leaf = new X509Certificate(c.cert);
  expect(leaf.subjectAltName).toContain('URI:spiffe://cluster.local/ns/default/sa/bookinfo-reviews');
  expect(leaf.verify(new X509Certificate(c.ca).publicKey)).toBe(true);
});
