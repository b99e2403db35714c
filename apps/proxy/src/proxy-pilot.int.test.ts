/**
 * Built sidecars against the real built Pilot (folder registry). Pilot's Istio-1.0-shaped config
 * routes `reviews:9080` from the productpage sidecar (explicit HTTP proxy listener) by the
 * `end-user` header: v1 is a bare pod, v2 has its own sidecar whose inbound listener (bound at
 * the pod address) forwards to the app. One request makes one trace: the productpage sidecar's
 * CLIENT span is the parent of the reviews sidecar's SERVER span.
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
  type AppProcess,
} from '@tsmesh/testing';

interface ZSpan {
  traceId: string;
  id: string;
  parentId?: string;
  kind: string;
  localEndpoint: { serviceName: string };
  tags: Record<string, string>;
}

const dir = tempDir('proxy-pilot-');
const servers: http.Server[] = [];
const spans: ZSpan[] = [];
const seen: http.IncomingHttpHeaders[] = [];

function serve(handler: http.RequestListener, host: string, port: number): Promise<number> {
  const s = http.createServer(handler);
  servers.push(s);
  return new Promise((r) => s.listen(port, host, () => r((s.address() as AddressInfo).port)));
}

function build(project: string): void {
  if (existsSync(distPath(project))) return;
  execFileSync('npx', ['nx', 'build', project, '--skip-nx-cache', '--outputStyle=static'], {
    cwd: workspaceRoot,
    env: { ...process.env, NX_DAEMON: 'false' },
    stdio: 'ignore',
  });
}

const common = (zipkin: string) => [
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
  '--zipkin-address',
  zipkin,
  '--drain-duration',
  '1s',
];

let proxyPort = 0;
let productpage: AppProcess;
let reviewsSidecar: AppProcess;

beforeAll(async () => {
  build('pilot');
  build('proxy');
  const port = await freePort();
  await serve((req, res) => res.end(`reviews-v1 ${req.url}`), '127.0.0.1', port);
  const v2App = await serve(
    (req, res) => {
      seen.push(req.headers);
      res.end(`reviews-v2 ${req.url}`);
    },
    '127.0.0.1',
    0,
  );
  const zipkinPort = await serve(
    (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        spans.push(...(JSON.parse(body) as ZSpan[]));
        res.writeHead(202).end();
      });
    },
    '127.0.0.1',
    0,
  );
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
  const pilot = await startPilot({ configDir: dir.path });
  const zipkin = `127.0.0.1:${zipkinPort}`;
  proxyPort = await freePort();
  const ready = { listeners: ['admin', 'health'], http: '/healthz/ready', httpListener: 'health' };
  reviewsSidecar = await startApp('proxy', {
    args: [
      '--discovery-address',
      pilot.addresses['grpc'],
      '--service-node',
      'sidecar~127.0.0.2~reviews-v2-abc.default~default.svc.cluster.local',
      '--service-cluster',
      'reviews',
      '--labels',
      'app=reviews,version=v2',
      '--bind-inbound-listeners',
      '--app-address',
      `127.0.0.1:${v2App}`,
      ...common(zipkin),
    ],
    ready,
  });
  productpage = await startApp('proxy', {
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
      ...common(zipkin),
    ],
    ready,
  });
}, 180_000);

afterAll(async () => {
  await stopAllApps();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  dir.cleanup();
});

const T = '463ac35c9f6413ad48485a3953bb6124';
const S = 'a2fb4a1d1a96d312';

describe('sidecars ← real Pilot', () => {
  it('routes reviews by the end-user header; v2 goes through its own sidecar to the app', async () => {
    const via = { proxy: `http://127.0.0.1:${proxyPort}` };
    const plain = await waitFor(
      async () => {
        const r = await httpRequest('http://reviews:9080/reviews/0', via).catch(() => undefined);
        return r?.status === 200 ? r : undefined;
      },
      { what: 'reviews through the sidecar' },
    );
    expect(plain.body).toBe('reviews-v1 /reviews/0');
    const jason = await waitFor(
      async () => {
        const r = await httpRequest('http://reviews:9080/reviews/1', {
          ...via,
          headers: { 'end-user': 'jason', 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '1' },
        });
        return r.status === 200 ? r : undefined;
      },
      { what: 'v2 through both sidecars' },
    );
    expect(jason.body).toBe('reviews-v2 /reviews/1');
  });

  it("counts the requests on Istio's subset clusters in Envoy stats", async () => {
    const stats = (await httpRequest(`${productpage.url('admin')}/stats?filter=upstream_rq_total`)).body;
    expect(stats).toMatch(
      /^cluster\.outbound\|9080\|v1\|reviews\.default\.svc\.cluster\.local\.upstream_rq_total: [1-9]/m,
    );
    expect(stats).toMatch(
      /^cluster\.outbound\|9080\|v2\|reviews\.default\.svc\.cluster\.local\.upstream_rq_total: [1-9]/m,
    );
  });

  it('reports one trace: productpage CLIENT span → reviews SERVER span → app', async () => {
    await Promise.all([productpage.stop(), reviewsSidecar.stop()]);
    const trace = spans.filter((s) => s.traceId === T);
    const client = trace.find((s) => s.kind === 'CLIENT' && s.localEndpoint.serviceName === 'productpage');
    const server = trace.find((s) => s.kind === 'SERVER' && s.localEndpoint.serviceName === 'reviews');
    expect(client?.parentId).toBe(S);
    expect(client?.tags['upstream_cluster']).toBe('outbound|9080|v2|reviews.default.svc.cluster.local');
    expect(server?.parentId).toBe(client?.id);
    expect(server?.tags['upstream_cluster']).toBe('inbound|9080||reviews.default.svc.cluster.local');
    const atApp = seen[seen.length - 1];
    expect(atApp['x-b3-traceid']).toBe(T);
    expect(atApp['x-b3-spanid']).toBe(server?.id);
  });
});
