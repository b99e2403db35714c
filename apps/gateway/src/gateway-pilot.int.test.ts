/**
 * The built gateway against the real built Pilot (folder registry) with bookinfo's
 * `bookinfo-gateway` + VirtualService (exact /productpage, prefix /api/v1/products) and an
 * `httpsRedirect` server: Pilot's router config served on the mapped local port.
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
  type AppProcess,
  startPilot,
} from '@tsmesh/testing';

const dir = tempDir('gateway-pilot-');
const app = http.createServer((req, res) => res.end(`productpage ${req.url}`));
let gw: AppProcess;

function build(project: string): void {
  if (existsSync(distPath(project))) return;
  execFileSync('npx', ['nx', 'build', project, '--skip-nx-cache', '--outputStyle=static'], {
    cwd: workspaceRoot,
    env: { ...process.env, NX_DAEMON: 'false' },
    stdio: 'ignore',
  });
}

beforeAll(async () => {
  build('pilot');
  build('gateway');
  const port = await freePort();
  await new Promise<void>((r) => app.listen(port, '127.0.0.1', () => r()));
  writeFileSync(
    join(dir.path, 'bookinfo.yaml'),
    [
      `apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: default, labels: {app: productpage}}
spec:
  clusterIP: 10.96.0.10
  selector: {app: productpage}
  ports: [{name: http, port: 9080, targetPort: ${port}}]
`,
      `apiVersion: v1
kind: Pod
metadata: {name: productpage-v1-abc, namespace: default, labels: {app: productpage, version: v1}}
spec:
  containers: [{name: productpage, ports: [{name: http, containerPort: ${port}}]}]
status: {phase: Running, podIP: 127.0.0.1}
`,
      `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: bookinfo-gateway, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`,
      `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: bookinfo, namespace: default}
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match:
    - uri: {exact: /productpage}
    - uri: {prefix: /api/v1/products}
    route:
    - destination: {host: productpage, port: {number: 9080}}
`,
    ].join('---\n'),
  );
  const pilot = await startPilot({ configDir: dir.path });
  gw = await startApp('gateway', {
    args: [
      '--discovery-address',
      pilot.addresses['grpc'],
      '--admin-address',
      '127.0.0.1:0',
      '--prometheus-address',
      '',
      '--health-address',
      '127.0.0.1:0',
      '--port-map',
      '80=127.0.0.1:0',
      '--drain-duration',
      '1s',
    ],
    ready: { listeners: ['admin', 'health', '0.0.0.0_80'], http: '/healthz/ready', httpListener: 'health' },
  });
}, 180_000);

afterAll(async () => {
  await stopAllApps();
  await new Promise<void>((r) => app.close(() => r()));
  dir.cleanup();
});

describe('gateway ← real Pilot (bookinfo-gateway)', () => {
  it('routes the VirtualService matches to productpage and 404s the rest', async () => {
    const ok = await waitFor(
      async () => {
        const r = await httpRequest(`${gw.url('0.0.0.0_80')}/productpage`);
        return r.status === 200 ? r : undefined;
      },
      { what: '/productpage through the gateway' },
    );
    expect(ok.body).toBe('productpage /productpage');
    expect((await httpRequest(`${gw.url('0.0.0.0_80')}/api/v1/products/1`)).body).toBe(
      'productpage /api/v1/products/1',
    );
    expect((await httpRequest(`${gw.url('0.0.0.0_80')}/admin`)).status).toBe(404);
  });

  it('shows Pilot’s router config in /config_dump', async () => {
    const dump = JSON.parse((await httpRequest(`${gw.url('admin')}/config_dump`)).body);
    const routes = dump.configs.find((c: { '@type': string }) => c['@type'].endsWith('RoutesConfigDump'));
    expect(routes.dynamic_route_configs.map((r: { route_config: { name: string } }) => r.route_config.name)).toContain(
      'http.80',
    );
  });
});
