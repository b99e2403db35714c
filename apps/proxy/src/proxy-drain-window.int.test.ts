/**
 * SIGTERM drain window of the built sidecar (`--drain-duration`): the process exits as soon as
 * its in-flight requests end, long before a 30 s window; and with a request that never ends it
 * closes that connection and exits once a 1 s window is over (plus a margin for shutdown on a
 * shared machine), with code 0.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ensureBuilt, httpRequest, startApp, stopAllApps, tempDir, waitFor, type AppProcess } from '@tsmesh/testing';

/** Process shutdown after the drain (spans, access logs, servers), on a loaded 2-core machine. */
const MARGIN_MS = 5_000;

const dir = tempDir('proxy-drain-window-');
const held: http.ServerResponse[] = [];
const upstream = http.createServer((_req, res) => held.push(res));
let upstreamPort = 0;

function bootstrap(): string {
  const file = join(dir.path, 'bootstrap.yaml');
  writeFileSync(
    file,
    `
node: {id: "sidecar~127.0.0.1~drain-1.default~default.svc.cluster.local", cluster: drain.default}
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: front
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: front
          route_config:
            name: front
            virtual_hosts: [{name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: app, timeout: 0s}}]}]
          http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]
  clusters:
  - name: app
    type: STATIC
    connect_timeout: 1s
    load_assignment: {cluster_name: app, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${upstreamPort}}}}}]}]}
`,
  );
  return file;
}

function startProxy(drain: string): Promise<AppProcess> {
  return startApp('proxy', {
    args: [
      '--config-path',
      bootstrap(),
      '--drain-duration',
      drain,
      '--prometheus-address',
      '127.0.0.1:0',
      '--health-address',
      '127.0.0.1:0',
      '--outbound-address',
      '',
      '--inbound-address',
      '',
      '--access-log-file',
      '',
    ],
    ready: { listeners: ['admin', 'front'], http: '/ready', httpListener: 'admin' },
  });
}

beforeAll(async () => {
  ensureBuilt('proxy');
  upstreamPort = await new Promise<number>((r) =>
    upstream.listen(0, '127.0.0.1', () => r((upstream.address() as AddressInfo).port)),
  );
}, 120_000);

afterEach(async () => {
  for (const res of held.splice(0)) res.destroy();
  await stopAllApps();
});

afterAll(async () => {
  await new Promise<void>((r) => upstream.close(() => r()));
  dir.cleanup();
});

it('exits once the in-flight requests end, well inside a 30 s drain window', async () => {
  const proxy = await startProxy('30s');
  const inflight = [0, 1, 2].map((i) => httpRequest(`${proxy.url('front')}/slow-${i}`, { timeoutMs: 60_000 }));
  await waitFor(() => held.length === 3, { what: '3 requests held upstream' });
  const exited = proxy.exited();
  process.kill(proxy.pid, 'SIGTERM');
  await waitFor(async () => (await httpRequest(`${proxy.url('admin')}/ready`)).status === 503, { what: 'DRAINING' });
  const released = Date.now();
  for (const res of held.splice(0)) res.end('done');
  expect((await Promise.all(inflight)).map((r) => [r.status, r.body])).toEqual([
    [200, 'done'],
    [200, 'done'],
    [200, 'done'],
  ]);
  expect(await exited).toBe(0);
  expect(Date.now() - released).toBeLessThan(MARGIN_MS);
}, 60_000);

it('closes a request that outlives a 1 s drain window and exits within the window plus a margin', async () => {
  const proxy = await startProxy('1s');
  const stuck = httpRequest(`${proxy.url('front')}/never`, { timeoutMs: 60_000 }).then(
    () => 'answered',
    () => 'closed',
  );
  await waitFor(() => held.length === 1, { what: 'request held upstream' });
  const exited = proxy.exited();
  const signalled = Date.now();
  process.kill(proxy.pid, 'SIGTERM');
  expect(await exited).toBe(0);
  // Timers never fire early: the request was given the whole window before it was closed.
  expect(Date.now() - signalled).toBeGreaterThanOrEqual(1_000);
  expect(Date.now() - signalled).toBeLessThan(1_000 + MARGIN_MS);
  expect(await stuck).toBe('closed');
}, 60_000);
