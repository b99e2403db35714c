/**
 * Identity flow end to end with the built Pilot, Citadel and two sidecars: each sidecar makes its
 * key, gets its SPIFFE certificate from Citadel with a bootstrap token, and Pilot's ISTIO_MUTUAL /
 * STRICT config (SDS `default`/`ROOTCA`) makes productpage → reviews mutual TLS; a plaintext
 * client reaching the reviews sidecar directly gets nothing through.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpRequest, startMtlsPair, stopAllApps, tempDir, waitFor } from '@tsmesh/testing';

const dir = tempDir('proxy-mtls-');
const servers: http.Server[] = [];
const seenAtApp: http.IncomingHttpHeaders[] = [];
let proxyPort = 0;
let reviewsPort = 0;

beforeAll(async () => {
  const app = http.createServer((req, res) => {
    seenAtApp.push(req.headers);
    res.end(`reviews ${req.url}`);
  });
  servers.push(app);
  const appPort = await new Promise<number>((r) =>
    app.listen(0, '127.0.0.1', () => r((app.address() as AddressInfo).port)),
  );
  ({ proxyPort, reviewsPort } = await startMtlsPair({ dir: dir.path, appPort }));
}, 180_000);

afterAll(async () => {
  await stopAllApps();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  dir.cleanup();
});

describe('mutual TLS between sidecars with Citadel identities', () => {
  it('productpage reaches reviews over mTLS', async () => {
    const res = await waitFor(
      async () => {
        const r = await httpRequest('http://reviews:9080/reviews/0', { proxy: `http://127.0.0.1:${proxyPort}` }).catch(
          () => undefined,
        );
        return r?.status === 200 ? r : undefined;
      },
      { what: 'reviews over mTLS', timeoutMs: 20_000 },
    );
    expect(res.body).toBe('reviews /reviews/0');
  });

  it('a plaintext client gets nothing through the STRICT inbound listener', async () => {
    const before = seenAtApp.length;
    const r = await httpRequest(`http://127.0.0.3:${reviewsPort}/direct`, { timeoutMs: 3000 }).then(
      (res) => `answered ${res.status}`,
      (e: Error) => `failed: ${e.message}`,
    );
    expect(r).toMatch(/^failed: /);
    expect(seenAtApp.length).toBe(before);
  });
});
