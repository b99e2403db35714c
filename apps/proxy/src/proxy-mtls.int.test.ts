/**
 * Identity flow end to end with the built Pilot, Citadel and two sidecars: each sidecar makes its
 * key, gets its SPIFFE certificate from Citadel with a bootstrap token, and Pilot's ISTIO_MUTUAL /
 * STRICT config (SDS `default`/`ROOTCA`) makes productpage → reviews mutual TLS; a plaintext
 * client reaching the reviews sidecar directly gets nothing through.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  distPath,
  freePort,
  httpRequest,
  startApp,
  startPilot,
  stopAllApps,
  tempDir,
  waitFor,
  workspaceRoot,
} from '@tsmesh/testing';

const dir = tempDir('proxy-mtls-');
const servers: http.Server[] = [];
const seenAtApp: http.IncomingHttpHeaders[] = [];
let proxyPort = 0;
let reviewsPort = 0;

function build(project: string): void {
  if (existsSync(distPath(project))) return;
  execFileSync('npx', ['nx', 'build', project, '--skip-nx-cache', '--outputStyle=static'], {
    cwd: workspaceRoot,
    env: { ...process.env, NX_DAEMON: 'false' },
    stdio: 'ignore',
  });
}

const common = [
  '--admin-address',
  '127.0.0.1:0',
  '--prometheus-address',
  '',
  '--health-address',
  '127.0.0.1:0',
  '--outbound-address',
  '127.0.0.1:0',
  '--inbound-address',
  '',
  '--drain-duration',
  '1s',
];

beforeAll(async () => {
  for (const p of ['pilot', 'citadel', 'proxy']) build(p);
  reviewsPort = await freePort();
  const app = http.createServer((req, res) => {
    seenAtApp.push(req.headers);
    res.end(`reviews ${req.url}`);
  });
  servers.push(app);
  const appPort = await new Promise<number>((r) =>
    app.listen(0, '127.0.0.1', () => r((app.address() as AddressInfo).port)),
  );
  const cfg = join(dir.path, 'config');
  execFileSync('mkdir', ['-p', cfg]);
  writeFileSync(
    join(cfg, 'reviews.yaml'),
    [
      `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default, labels: {app: reviews}}
spec:
  clusterIP: 10.96.0.12
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: ${reviewsPort}}]
`,
      `apiVersion: v1
kind: Pod
metadata: {name: reviews-v1-abc, namespace: default, labels: {app: reviews, version: v1}}
spec:
  serviceAccountName: bookinfo-reviews
  containers: [{name: reviews, ports: [{name: http, containerPort: ${reviewsPort}}]}]
status: {phase: Running, podIP: 127.0.0.3}
`,
      `apiVersion: authentication.istio.io/v1alpha1
kind: Policy
metadata: {name: reviews-strict, namespace: default}
spec:
  targets: [{name: reviews}]
  peers: [{mtls: {}}]
`,
      `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
`,
    ].join('---\n'),
  );
  writeFileSync(
    join(dir.path, 'tokens'),
    'token-reviews-0123456789 default/bookinfo-reviews\ntoken-productpage-012345 default/bookinfo-productpage\n',
  );
  const citadel = await startApp('citadel', {
    args: [
      '--grpc-address',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--ca-dir',
      join(dir.path, 'ca'),
      '--bootstrap-tokens',
      join(dir.path, 'tokens'),
    ],
    ready: { listeners: ['grpc', 'http'], http: '/ready' },
  });
  const pilot = await startPilot({ configDir: cfg });
  const ready = { listeners: ['admin', 'health'], http: '/healthz/ready', httpListener: 'health' };
  await startApp('proxy', {
    args: [
      '--discovery-address',
      pilot.addresses['grpc'],
      '--service-node',
      'sidecar~127.0.0.3~reviews-v1-abc.default~default.svc.cluster.local',
      '--service-cluster',
      'reviews',
      '--labels',
      'app=reviews,version=v1',
      '--bind-inbound-listeners',
      '--app-address',
      `127.0.0.1:${appPort}`,
      '--citadel-address',
      citadel.addresses['grpc'],
      '--citadel-token',
      'token-reviews-0123456789',
      '--service-account',
      'bookinfo-reviews',
      ...common,
    ],
    ready,
  });
  proxyPort = await freePort();
  await startApp('proxy', {
    args: [
      '--discovery-address',
      pilot.addresses['grpc'],
      '--service-node',
      'sidecar~127.0.0.11~productpage-v1-abc.default~default.svc.cluster.local',
      '--service-cluster',
      'productpage',
      '--labels',
      'app=productpage,version=v1',
      '--http-proxy-port',
      String(proxyPort),
      '--citadel-address',
      citadel.addresses['grpc'],
      '--citadel-token',
      'token-productpage-012345',
      '--service-account',
      'bookinfo-productpage',
      ...common,
    ],
    ready,
  });
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
