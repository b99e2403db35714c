/**
 * The built `tsmesh proxy-status` / `proxy-config` against a real built Pilot (folder registry:
 * one Service with a pod, a VirtualService) and one real built sidecar connected to it.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startApp, stopAllApps, tempDir, waitFor, type AppProcess, startPilot } from '@tsmesh/testing';
import { buildForTests, ROOT } from '../build-for-tests';

jest.setTimeout(120_000);
const dir = tempDir('cli-proxy-debug-');
let upstream: http.Server;
let pilot: AppProcess;
let proxy: AppProcess;

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/apps/cli/main.js'), ...args, '--state-dir', dir.path], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

beforeAll(async () => {
  expect(buildForTests(['pilot', 'proxy', 'cli']).ok).toBe(true);
  upstream = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const port = (upstream.address() as AddressInfo).port;
  writeFileSync(
    join(dir.path, 'ratings.yaml'),
    `apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default, labels: {app: ratings}}
spec:
  clusterIP: 10.96.0.13
  selector: {app: ratings}
  ports: [{name: http, port: 9080, targetPort: ${port}}]
---
apiVersion: v1
kind: Pod
metadata: {name: ratings-v1-abc, namespace: default, labels: {app: ratings, version: v1}}
spec:
  containers: [{name: ratings, ports: [{name: http, containerPort: ${port}}]}]
status: {phase: Running, podIP: 127.0.0.1}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: ratings, namespace: default}
spec:
  hosts: [ratings]
  http:
  - route: [{destination: {host: ratings}}]
    timeout: 2s
`,
  );
  pilot = await startPilot({ configDir: dir.path });
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
    ],
    ready: { listeners: ['admin', 'health'], http: '/healthz/ready', httpListener: 'health' },
  });
});

afterAll(async () => {
  await stopAllApps();
  await new Promise<void>((r) => upstream.close(() => r()));
  dir.cleanup();
});

describe('tsmesh proxy-status / proxy-config against a real Pilot and proxy', () => {
  it('proxy-status shows the proxy SYNCED on every type; with PROXY, Pilot and the proxy match', async () => {
    const pilotUrl = `http://${pilot.addresses['http']}`;
    let rows: Array<Record<string, string>> = [];
    await waitFor(
      () => {
        const r = cli('proxy-status', '--pilot', pilotUrl, '--json');
        rows = r.code === 0 ? (JSON.parse(r.stdout) as Array<Record<string, string>>) : [];
        return rows.length === 1 && ['cds', 'lds', 'eds', 'rds'].every((t) => rows[0][t] === 'SYNCED');
      },
      { timeoutMs: 30_000 },
    );
    expect(rows[0]).toMatchObject({
      name: 'productpage-v1-abc.default',
      cds: 'SYNCED',
      lds: 'SYNCED',
      eds: 'SYNCED',
      rds: 'SYNCED',
    });
    const table = cli('proxy-status', '--pilot', pilotUrl);
    expect(table.stdout).toMatch(/^NAME\s+CDS\s+LDS\s+EDS\s+RDS\s+PILOT\s+VERSION\n/);
    expect(table.stdout).toMatch(/productpage-v1-abc\.default\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED/);

    const one = cli(
      'proxy-status',
      'productpage-v1-abc.default',
      '--pilot',
      pilotUrl,
      '--admin',
      `http://${proxy.addresses['admin']}`,
      '--json',
    );
    const cmp = JSON.parse(one.stdout) as {
      match: boolean;
      types: Array<{ type: string; match: boolean; differences: string[] }>;
    };
    expect(cmp.types.map((t) => [t.type, t.match, t.differences])).toEqual([
      ['cds', true, []],
      ['lds', true, []],
      ['eds', true, []],
      ['rds', true, []],
    ]);
    expect([one.code, cmp.match]).toEqual([0, true]);
    const nope = cli('proxy-status', 'nope', '--pilot', pilotUrl, '--admin', `http://${proxy.addresses['admin']}`);
    expect([nope.code, nope.stderr.trim()]).toEqual([
      2,
      `tsmesh: CLI_ERR_USAGE: nope is not connected to Pilot at ${pilot.addresses['http']} (connected: productpage-v1-abc.default); give a connected proxy or a full node id`,
    ]);
  });

  it('proxy-config clusters lists the outbound cluster of the service; -o json gives the raw clusters', () => {
    const admin = `http://${proxy.addresses['admin']}`;
    const r = cli('proxy-config', 'clusters', 'productpage-v1-abc', '--admin', admin);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^SERVICE FQDN\s+PORT\s+SUBSET\s+DIRECTION\s+TYPE\n/);
    expect(r.stdout).toMatch(/ratings\.default\.svc\.cluster\.local\s+9080\s+-\s+outbound\s+EDS/);
    const raw = JSON.parse(cli('proxy-config', 'clusters', 'x', '--admin', admin, '-o', 'json').stdout) as Array<{
      name: string;
    }>;
    expect(raw.map((c) => c.name)).toContain('outbound|9080||ratings.default.svc.cluster.local');
    const filtered = cli(
      'proxy-config',
      'clusters',
      'x',
      '--admin',
      admin,
      '--fqdn',
      'ratings',
      '--direction',
      'outbound',
    );
    expect(filtered.stdout.trim().split('\n')).toHaveLength(2);
    const eps = cli('proxy-config', 'endpoints', 'x', '--admin', admin);
    expect(eps.stdout).toMatch(/127\.0\.0\.1:\d+\s+HEALTHY\s+outbound\|9080\|\|ratings\.default\.svc\.cluster\.local/);
    expect(cli('proxy-config', 'routes', 'x', '--admin', admin).stdout).toMatch(/^NAME\s+VIRTUAL HOSTS\n/);
    expect(cli('proxy-config', 'listeners', 'x', '--admin', admin).stdout).toMatch(/^ADDRESS\s+PORT\s+TYPE\n/);
  });

  it('without flags the addresses come from state.json (pod name); no mesh running is CLI_ERR_NOT_RUNNING', () => {
    const none = cli('proxy-config', 'clusters', 'productpage-v1-abc');
    expect([none.code, none.stderr]).toEqual([1, expect.stringMatching(/CLI_ERR_NOT_RUNNING/)]);
    const proc = (name: string, role: string, pod: string, listeners: Record<string, string>) => ({
      name,
      role,
      pod,
      ip: '127.0.0.1',
      pid: null,
      status: 'ready',
      restarts: 0,
      listeners,
      log: '',
    });
    writeFileSync(
      join(dir.path, 'state.json'),
      JSON.stringify({
        supervisorPid: 0,
        status: 'ready',
        startedAt: new Date(0).toISOString(),
        missing: [],
        notes: [],
        links: [],
        admin: [],
        logsDir: dir.path,
        configDir: dir.path,
        processes: [
          proc('istio-pilot-abc', 'control-plane', 'istio-pilot-abc', pilot.addresses),
          proc('productpage-v1-abc.sidecar', 'sidecar', 'productpage-v1-abc', proxy.addresses),
        ],
      }),
    );
    const status = cli('proxy-status');
    expect(status.stdout).toMatch(/productpage-v1-abc\.default\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED/);
    const one = cli('proxy-status', 'productpage-v1-abc');
    expect([one.code, one.stdout]).toEqual([0, expect.stringMatching(/^CDS: MATCH/m)]);
    const clusters = cli('proxy-config', 'clusters', 'productpage-v1-abc');
    expect(clusters.stdout).toMatch(/ratings\.default\.svc\.cluster\.local\s+9080\s+-\s+outbound\s+EDS/);
    const gone = cli('proxy-config', 'clusters', 'x', '--admin', pilot.addresses['grpc'].replace(/:\d+$/, ':9'));
    expect([gone.code, gone.stderr]).toEqual([
      1,
      expect.stringMatching(/^tsmesh: cannot reach http:\/\/127\.0\.0\.1:9\/config_dump: /),
    ]);
    const unknown = cli('proxy-config', 'clusters', 'nope');
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringMatching(/CLI_ERR_USAGE: no proxy nope/)]);
  });
});
