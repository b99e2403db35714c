/**
 * DestinationRule `h2UpgradePolicy: UPGRADE` end to end with the built Pilot, Citadel and two
 * sidecars: productpage → reviews over ISTIO_MUTUAL / STRICT, reviews' port declared `http`. Without
 * the upgrade the reviews sidecar's inbound listener receives HTTP/1.1; once the rule says UPGRADE
 * the client sidecar's cluster speaks HTTP/2 to it (ALPN h2 in the mTLS handshake), counted by the
 * server sidecar's `http.<prefix>.downstream_rq_http2_total`, while the app still gets HTTP/1.1.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  httpRequest,
  reviewsDestinationRule,
  startMtlsPair,
  stopAllApps,
  tempDir,
  waitFor,
  type AppProcess,
} from '@tsmesh/testing';

jest.setTimeout(240_000);

const dir = tempDir('pilot-h2-upgrade-');
const servers: http.Server[] = [];
/** HTTP version of every request the reviews app received, in order. */
const seenAtApp: string[] = [];
let proxyPort = 0;
let reviewsSidecar: AppProcess;
let destinationRuleFile = '';

/** Sum of one HCM counter over the sidecar's HTTP connection managers (`http.<prefix>.<name>`). */
async function hcmCounter(app: AppProcess, name: string): Promise<number> {
  const r = await httpRequest(`${app.url('admin')}/stats?filter=${encodeURIComponent(`\\.${name}$`)}`);
  let sum = 0;
  for (const line of String(r.body).split('\n')) {
    const m = /^http\.(.+)\.([a-z0-9_]+): (\d+)$/.exec(line.trim());
    if (m && m[2] === name) sum += Number(m[3]);
  }
  return sum;
}

const viaMesh = () =>
  httpRequest('http://reviews:9080/reviews/0', { proxy: `http://127.0.0.1:${proxyPort}` }).catch(() => undefined);

beforeAll(async () => {
  const app = http.createServer((req, res) => {
    seenAtApp.push(req.httpVersion);
    res.end(`reviews ${req.url} HTTP/${req.httpVersion}`);
  });
  servers.push(app);
  const appPort = await new Promise<number>((r) =>
    app.listen(0, '127.0.0.1', () => r((app.address() as AddressInfo).port)),
  );
  // No h2UpgradePolicy yet: the mesh default, DO_NOT_UPGRADE.
  ({ proxyPort, reviewsSidecar, destinationRuleFile } = await startMtlsPair({ dir: dir.path, appPort }));
}, 180_000);

afterAll(async () => {
  await stopAllApps();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  dir.cleanup();
});

describe('h2UpgradePolicy through Pilot and two sidecars (mTLS)', () => {
  it('without it, the server sidecar receives HTTP/1.1 from the client sidecar', async () => {
    const res = await waitFor(async () => ((await viaMesh())?.status === 200 ? true : undefined), {
      what: 'reviews through the mesh',
      timeoutMs: 30_000,
    });
    expect(res).toBe(true);
    expect(await hcmCounter(reviewsSidecar, 'downstream_rq_http1_total')).toBeGreaterThanOrEqual(1);
    expect(await hcmCounter(reviewsSidecar, 'downstream_rq_http2_total')).toBe(0);
    expect(seenAtApp.length).toBeGreaterThanOrEqual(1);
    expect(new Set(seenAtApp)).toEqual(new Set(['1.1']));
  });

  it('with UPGRADE, the client sidecar speaks HTTP/2 to the server sidecar; the app still gets HTTP/1.1 and answers 200', async () => {
    writeFileSync(destinationRuleFile, reviewsDestinationRule('connectionPool: {http: {h2UpgradePolicy: UPGRADE}}'));
    // Each attempt is a full request through the mesh; Pilot's push reaches the client sidecar
    // in its own time, so wait until one arrives at the server sidecar as HTTP/2.
    await waitFor(
      async () => {
        const r = await viaMesh();
        if (r?.status !== 200) return undefined;
        return (await hcmCounter(reviewsSidecar, 'downstream_rq_http2_total')) >= 1 ? true : undefined;
      },
      { what: 'a request arriving at the reviews sidecar as HTTP/2', timeoutMs: 30_000 },
    );
    const h2Before = await hcmCounter(reviewsSidecar, 'downstream_rq_http2_total');
    const h1Before = await hcmCounter(reviewsSidecar, 'downstream_rq_http1_total');
    const appBefore = seenAtApp.length;
    const res = await viaMesh();
    expect(res?.status).toBe(200);
    expect(String(res?.body)).toBe('reviews /reviews/0 HTTP/1.1');
    await waitFor(
      async () => ((await hcmCounter(reviewsSidecar, 'downstream_rq_http2_total')) > h2Before ? true : undefined),
      { what: 'the request counted as HTTP/2 at the reviews sidecar', timeoutMs: 10_000 },
    );
    expect(await hcmCounter(reviewsSidecar, 'downstream_rq_http1_total')).toBe(h1Before);
    expect(seenAtApp.slice(appBefore)).toEqual(['1.1']);
  });
});
