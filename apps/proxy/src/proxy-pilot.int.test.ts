/**
 * The built sidecar against the real built Pilot (folder registry): Pilot's Istio-1.0-shaped
 * config (EDS clusters with subsets, RDS `http_proxy` for the app's explicit HTTP proxy port)
 * routes `reviews:9080` by the `end-user` header to the v2 pod, everything else to v1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import {
  distPath,
  freePort,
  httpRequest,
  startApp,
  stopAllApps,
  tempDir,
  waitFor,
  workspaceRoot,
} from '@tsmesh/testing';

const dir = tempDir('proxy-pilot-');
const servers: http.Server[] = [];

function reviews(version: string, host: string, port: number): Promise<void> {
  const s = http.createServer((req, res) => res.end(`reviews-${version} ${req.url}`));
  servers.push(s);
  return new Promise((r) => s.listen(port, host, () => r()));
}

function build(project: string): void {
  if (existsSync(distPath(project))) return;
  execFileSync('npx', ['nx', 'build', project, '--skip-nx-cache', '--outputStyle=static'], {
    cwd: workspaceRoot,
    env: { ...process.env, NX_DAEMON: 'false' },
    stdio: 'ignore',
  });
}

let proxyPort = 0;
let proxy: AppProcess;

beforeAll(async () => {
  build('pilot');
  build('proxy');
  const port = await freePort();
  await reviews('v1', '127.0.0.1', port);
  await reviews('v2', '127.0.0.2', port);
  const pod = (name: string, version: string, ip: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default, labels: {app: reviews, version: ${version}}}
spec:
  serviceAccountName: bookinfo-reviews
  containers: [{name: reviews, ports: [{name: http, containerPort: ${port}}]}]
status: {phase: Running, podIP: ${ip}}
`;
  writeFileSync(
    join(dir.path, 'reviews.yaml'),
    [
      `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default, labels: {app: reviews}}
spec:
  clusterIP: 10.96.0.12
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: ${port}}]
`,
      pod('reviews-v1-abc', 'v1', '127.0.0.1'),
      pod('reviews-v2-abc', 'v2', '127.0.0.2'),
      `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`,
      `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`,
    ].join('---\n'),
  );
  const pilot = await startApp('pilot', {
    args: ['--config-dir', dir.path, '--grpc-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0'],
    env: { PILOT_DEBOUNCE_AFTER: '10ms' },
    ready: { listeners: ['grpc', 'http'], http: '/ready' },
  });
  proxyPort = await freePort();
  proxy = await startApp('proxy', {
    args: [
      '--discovery-address',
      pilot.addresses['grpc'],
      '--ip',
      '127.0.0.10',
      '--pod-name',
      'productpage-v1-abc',
      '--namespace',
      'default',
      '--service-cluster',
      'productpage',
      '--labels',
      'app=productpage,version=v1',
      '--http-proxy-port',
      String(proxyPort),
      '--admin-address',
      '127.0.0.1:0',
      '--prometheus-address',
      '',
      '--health-address',
      '127.0.0.1:0',
      '--outbound-address',
      '',
      '--inbound-address',
      '',
      '--drain-duration',
      '1s',
    ],
    ready: { listeners: ['admin', 'health'], http: '/healthz/ready', httpListener: 'health' },
  });
}, 180_000);

afterAll(async () => {
  await stopAllApps();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  dir.cleanup();
});

describe('sidecar ← real Pilot', () => {
  it('routes reviews by the end-user header through the explicit HTTP proxy listener', async () => {
    const via = { proxy: `http://127.0.0.1:${proxyPort}` };
    const plain = await waitFor(
      async () => {
        const r = await httpRequest('http://reviews:9080/reviews/0', via).catch(() => undefined);
        return r?.status === 200 ? r : undefined;
      },
      { what: 'reviews through the sidecar' },
    );
    expect(plain.body).toBe('reviews-v1 /reviews/0');
    const jason = await httpRequest('http://reviews:9080/reviews/0', { ...via, headers: { 'end-user': 'jason' } });
    expect(jason).toMatchObject({ status: 200, body: 'reviews-v2 /reviews/0' });
  });

  it("counts the requests on Istio's subset clusters in Envoy stats", async () => {
    const stats = (await httpRequest(`${proxy.url('admin')}/stats?filter=upstream_rq_total`)).body;
    expect(stats).toMatch(
      /^cluster\.outbound\|9080\|v1\|reviews\.default\.svc\.cluster\.local\.upstream_rq_total: [1-9]/m,
    );
    expect(stats).toMatch(
      /^cluster\.outbound\|9080\|v2\|reviews\.default\.svc\.cluster\.local\.upstream_rq_total: 1$/m,
    );
  });
});
