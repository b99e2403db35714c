/**
 * Config churn under load (reliability checklist L2): while requests flow through the built
 * sidecar, the VirtualService's weights change every few hundred milliseconds through the real
 * Pilot. Every request must succeed; both subsets must have been used.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
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

const dir = tempDir('proxy-churn-');
const servers: http.Server[] = [];

function build(project: string): void {
  if (existsSync(distPath(project))) return;
  execFileSync('npx', ['nx', 'build', project, '--skip-nx-cache', '--outputStyle=static'], {
    cwd: workspaceRoot,
    env: { ...process.env, NX_DAEMON: 'false' },
    stdio: 'ignore',
  });
}

function vs(v1: number): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: ratings, namespace: default}
spec:
  hosts: [ratings]
  http:
  - route:
    - {destination: {host: ratings, subset: v1}, weight: ${v1}}
    - {destination: {host: ratings, subset: v2}, weight: ${100 - v1}}
`;
}

/** Atomic replace, as `kubectl apply` or an editor's save would look to the folder watcher. */
function writeVs(v1: number): void {
  const tmp = join(dir.path, '.vs.tmp');
  writeFileSync(tmp, vs(v1));
  renameSync(tmp, join(dir.path, 'vs.yaml'));
}

let proxyPort = 0;

beforeAll(async () => {
  build('pilot');
  build('proxy');
  const port = await freePort();
  for (const [version, ip] of [
    ['v1', '127.0.0.1'],
    ['v2', '127.0.0.2'],
  ]) {
    const s = http.createServer((_req, res) => res.end(version));
    servers.push(s);
    await new Promise<void>((r) => s.listen(port, ip, () => r()));
  }
  const pod = (version: string, ip: string) => `apiVersion: v1
kind: Pod
metadata: {name: ratings-${version}-abc, namespace: default, labels: {app: ratings, version: ${version}}}
spec:
  containers: [{name: ratings, ports: [{name: http, containerPort: ${port}}]}]
status: {phase: Running, podIP: ${ip}}
`;
  writeFileSync(
    join(dir.path, 'ratings.yaml'),
    [
      `apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec:
  clusterIP: 10.96.0.13
  selector: {app: ratings}
  ports: [{name: http, port: 9080, targetPort: ${port}}]
`,
      pod('v1', '127.0.0.1'),
      pod('v2', '127.0.0.2'),
      `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: ratings, namespace: default}
spec:
  host: ratings
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`,
    ].join('---\n'),
  );
  writeVs(100);
  const pilot = await startPilot({ configDir: dir.path });
  proxyPort = await freePort();
  await startApp('proxy', {
    args: [
      '--discovery-address',
      pilot.addresses['grpc'],
      '--ip',
      '127.0.0.30',
      '--pod-name',
      'reviews-v3-abc',
      '--service-cluster',
      'reviews',
      '--http-proxy-port',
      String(proxyPort),
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
      '--access-log-file',
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

it('loses no request while route weights change under load', async () => {
  const via = { proxy: `http://127.0.0.1:${proxyPort}` };
  await waitFor(async () => (await httpRequest('http://ratings:9080/', via).catch(() => undefined))?.status === 200, {
    what: 'first route',
  });
  const statuses = new Map<string, number>();
  const bodies = new Map<string, number>();
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const r = await httpRequest('http://ratings:9080/', via).catch((e: Error) => ({ status: 0, body: e.message }));
      statuses.set(String(r.status), (statuses.get(String(r.status)) ?? 0) + 1);
      bodies.set(r.body, (bodies.get(r.body) ?? 0) + 1);
    }
  };
  const workers = [worker(), worker(), worker(), worker()];
  for (const weight of [0, 50, 100, 20, 0, 80, 100, 0]) {
    writeVs(weight);
    await new Promise((r) => setTimeout(r, 250));
  }
  stop = true;
  await Promise.all(workers);
  expect([...statuses.keys()]).toEqual(['200']);
  expect(statuses.get('200')).toBeGreaterThan(50);
  expect(bodies.get('v1')).toBeGreaterThan(0);
  expect(bodies.get('v2')).toBeGreaterThan(0);
});
