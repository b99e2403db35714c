/**
 * The built sidecar (dist/apps/proxy/main.js) with a static Envoy bootstrap in front of a real
 * node:http upstream: routing, admin endpoint shapes, access log, B3 tracing to a fake Zipkin
 * collector (client span → server span → app), and SIGTERM drain with requests in flight.
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
  stopAllApps,
  tempDir,
  waitFor,
  workspaceRoot,
  startZipkinCollector,
  type AppProcess,
  type ZipkinCollector,
} from '@tsmesh/testing';

const dir = tempDir('proxy-int-');
const seen: Array<{ url: string; headers: http.IncomingHttpHeaders }> = [];
let inFlight = 0;
const upstream = http.createServer((req, res) => {
  seen.push({ url: req.url ?? '', headers: req.headers });
  inFlight++;
  const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
  setTimeout(() => {
    inFlight--;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello ${req.url}`);
  }, delay);
});

const listen = (s: http.Server) =>
  new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
const cluster = (name: string, port: number) => `
  - name: ${name}
    type: STATIC
    connect_timeout: 1s
    load_assignment: {cluster_name: ${name}, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${port}}}}}]}]}`;
const listener = (name: string, port: number, direction: string, target: string) => `
  - name: ${name}
    address: {socket_address: {address: 127.0.0.1, port_value: ${port}}}
    traffic_direction: ${direction}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ${name}_http
          access_log:
          - name: envoy.access_loggers.stdout
            typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog}
          route_config:
            name: ${name}
            virtual_hosts: [{name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: ${target}}, decorator: {operation: "${name}-op"}}]}]
          http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]`;

let proxy: AppProcess;
let zipkin: ZipkinCollector;
let inboundPort = 0;

beforeAll(async () => {
  if (!existsSync(distPath('proxy'))) {
    execFileSync('npx', ['nx', 'build', 'proxy', '--skip-nx-cache', '--outputStyle=static'], {
      cwd: workspaceRoot,
      env: { ...process.env, NX_DAEMON: 'false' },
      stdio: 'ignore',
    });
  }
  const appPort = await listen(upstream);
  zipkin = await startZipkinCollector();
  inboundPort = await freePort();
  const bootstrap = `
node: {id: "sidecar~127.0.0.1~productpage-v1-abc.default~default.svc.cluster.local", cluster: productpage.default}
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:${listener('inbound', inboundPort, 'INBOUND', 'app')}${listener('outbound', 0, 'OUTBOUND', 'peer')}
  clusters:${cluster('app', appPort)}${cluster('peer', inboundPort)}${cluster('zipkin', zipkin.port)}
tracing:
  http:
    name: envoy.tracers.zipkin
    typed_config: {"@type": type.googleapis.com/envoy.config.trace.v3.ZipkinConfig, collector_cluster: zipkin, collector_endpoint: /api/v2/spans, collector_endpoint_version: HTTP_JSON}
`;
  writeFileSync(join(dir.path, 'bootstrap.yaml'), bootstrap);
  proxy = await startApp('proxy', {
    args: [
      '--config-path',
      join(dir.path, 'bootstrap.yaml'),
      '--prometheus-address',
      '127.0.0.1:0',
      '--health-address',
      '127.0.0.1:0',
      '--drain-duration',
      '2s',
    ],
    ready: { listeners: ['admin', 'inbound', 'outbound'], http: '/ready', httpListener: 'admin' },
  });
}, 120_000);

afterAll(async () => {
  await stopAllApps();
  await new Promise<void>((r) => upstream.close(() => r()));
  await zipkin.close();
  dir.cleanup();
});

const T = '463ac35c9f6413ad48485a3953bb6124';
const S = 'a2fb4a1d1a96d312';

describe('sidecar from a static bootstrap', () => {
  it('routes through outbound → inbound → app and propagates B3 as child spans', async () => {
    const res = await httpRequest(`${proxy.url('outbound')}/productpage`, {
      headers: { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '1', 'user-agent': 'int-test' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe('hello /productpage');
    const got = seen.find((s) => s.url === '/productpage')?.headers ?? {};
    expect(got['x-b3-traceid']).toBe(T);
    expect(got['x-b3-parentspanid']).toMatch(/^[0-9a-f]{16}$/);
    expect(got['x-b3-spanid']).not.toBe(S);
    expect(got['x-request-id']).toBeDefined();
  });

  it('/ready, /healthz/ready, /server_info', async () => {
    expect((await httpRequest(`${proxy.url('admin')}/ready`)).body).toBe('LIVE\n');
    expect((await httpRequest(`${proxy.url('health')}/healthz/ready`)).status).toBe(200);
    const info = JSON.parse((await httpRequest(`${proxy.url('admin')}/server_info`)).body);
    expect(info.state).toBe('LIVE');
    expect(info.node.id).toContain('sidecar~127.0.0.1~productpage-v1-abc.default');
  });

  it('/stats has Envoy text lines and /stats/prometheus is valid exposition text', async () => {
    const stats = (await httpRequest(`${proxy.url('admin')}/stats`)).body;
    expect(stats).toMatch(/^http\.inbound_http\.downstream_rq_2xx: [1-9]\d*$/m);
    expect(stats).toMatch(/^http\.outbound_http\.downstream_rq_total: [1-9]\d*$/m);
    for (const url of [`${proxy.url('admin')}/stats/prometheus`, `${proxy.url('prometheus')}/stats/prometheus`]) {
      const prom = (await httpRequest(url)).body;
      expect(prom).toMatch(/^envoy_\w+/m);
      for (const line of prom.split('\n').filter(Boolean)) {
        expect(line).toMatch(
          /^(# TYPE [a-zA-Z_:][\w:]* (counter|gauge|histogram)|[a-zA-Z_:][\w:]*(\{([a-zA-Z_]\w*="(?:[^"\\]|\\.)*",?)*\})? (-?[\d.]+(e[+-]?\d+)?|NaN|\+Inf))$/,
        );
      }
    }
  });

  it('/config_dump reads as an Envoy ConfigDump', async () => {
    const dump = JSON.parse((await httpRequest(`${proxy.url('admin')}/config_dump`)).body);
    const byType = Object.fromEntries(dump.configs.map((c: { '@type': string }) => [c['@type'].split('.').pop(), c]));
    expect(byType['BootstrapConfigDump'].bootstrap.node.id).toContain('sidecar~');
    expect(
      byType['ClustersConfigDump'].static_clusters.map((c: { cluster: { name: string } }) => c.cluster.name),
    ).toEqual(['app', 'peer', 'zipkin']);
    expect(byType['ListenersConfigDump'].static_listeners[0].listener['@type']).toBe(
      'type.googleapis.com/envoy.config.listener.v3.Listener',
    );
  });

  it('/clusters and /listeners print Envoy text forms', async () => {
    const clusters = (await httpRequest(`${proxy.url('admin')}/clusters`)).body;
    expect(clusters).toMatch(/^app::127\.0\.0\.1:\d+::rq_total::[1-9]\d*$/m);
    expect(clusters).toMatch(/^app::127\.0\.0\.1:\d+::health_flags::healthy$/m);
    const listeners = (await httpRequest(`${proxy.url('admin')}/listeners`)).body;
    expect(listeners).toContain(`inbound::127.0.0.1:${inboundPort}`);
  });

  it('writes access log lines in the default format', async () => {
    const line = await proxy.waitForLog(/"GET \/productpage HTTP\/1\.1" 200 /);
    expect(line).toMatch(
      /^\[\d{4}-\d\d-\d\dT[^\]]+\] "GET \/productpage HTTP\/1\.1" 200 - 0 \d+ \d+ \d+ "-" "int-test" "[^"]+" "127\.0\.0\.1:\d+" "127\.0\.0\.1:\d+"$/,
    );
  });

  it('on SIGTERM finishes in-flight requests, refuses new ones, flushes spans and exits 0', async () => {
    const slow = Array.from({ length: 5 }, (_, i) =>
      httpRequest(`http://127.0.0.1:${inboundPort}/slow-${i}?delay=700`, { timeoutMs: 10_000 }),
    );
    await waitFor(() => inFlight === 5, { what: '5 requests in flight upstream' });
    const exited = proxy.stop('SIGTERM', 15_000);
    const results = await Promise.all(slow);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(results.map((r) => r.body)).toEqual([0, 1, 2, 3, 4].map((i) => `hello /slow-${i}?delay=700`));
    await expect(httpRequest(`http://127.0.0.1:${inboundPort}/late`, { timeoutMs: 2000 })).rejects.toThrow();
    expect(await exited).toBe(0);

    const client = zipkin.spans.find((s) => s.traceId === T && s.kind === 'CLIENT');
    const server = zipkin.spans.find((s) => s.traceId === T && s.kind === 'SERVER');
    expect(client).toMatchObject({ parentId: S, name: 'outbound-op' });
    expect(server).toMatchObject({ parentId: client?.id, name: 'inbound-op' });
    const app = seen.find((s) => s.url === '/productpage')?.headers ?? {};
    expect(app['x-b3-spanid']).toBe(server?.id);
    expect(server?.tags?.['http.status_code']).toBe('200');
    expect(server?.tags?.['upstream_cluster']).toBe('app');
  });
});
