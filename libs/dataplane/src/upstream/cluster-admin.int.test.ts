import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FakeClock } from '@tsmesh/core';
import { httpRequest } from '@tsmesh/testing';
import { parseBootstrap } from '../bootstrap/load';
import { ProxyRuntime } from '../bootstrap/proxy-runtime';
import { startUpstream, until, type TestUpstream } from '../engine/testing';
import { registerBuiltinFilters } from '../filters/builtin';

/** A static bootstrap: listener `l` (HCM, one route to cluster `c`, a file access log) and cluster `c`. */
function bootstrapYaml(upstream: string, clusterExtra: string, accessLog: string): string {
  const [host, port] = upstream.split(':');
  return `
node: {id: "sidecar~127.0.0.1~t.default~default.svc.cluster.local", cluster: t}
static_resources:
  listeners:
  - name: l
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: l
          route_config: {name: r, virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c}}]}]}
          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: ${accessLog}
              log_format: {text_format_source: {inline_string: "%RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_CLUSTER% %REQ(:PATH)%\\n"}}
          http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]
  clusters:
  - name: c
    type: STATIC
    connect_timeout: 1s
    ${clusterExtra}
    load_assignment:
      cluster_name: c
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: ${host}, port_value: ${port}}}}}]}]
`;
}

/**
 * A proxy runtime (admin on 127.0.0.1:0, fake clock) in front of one upstream that holds every
 * response until the test releases it: `/fail…` paths answer 500, others 200.
 */
describe('cluster stats and circuit breaking through a proxy runtime', () => {
  let rt: ProxyRuntime;
  let up: TestUpstream;
  let clock: FakeClock;
  let dir: string;
  let logPath: string;
  const held: { path: string; res: http.ServerResponse }[] = [];

  async function start(clusterExtra = ''): Promise<string> {
    up = await startUpstream('u', (q, res) => held.push({ path: q.url, res }));
    dir = mkdtempSync(path.join(tmpdir(), 'tsmesh-cluster-admin-'));
    logPath = path.join(dir, 'access.log');
    clock = new FakeClock();
    rt = await ProxyRuntime.start({
      bootstrap: parseBootstrap(bootstrapYaml(up.address, clusterExtra, logPath)),
      nodeType: 'sidecar',
      adminAddress: '127.0.0.1:0',
      registerFilters: registerBuiltinFilters,
      clock,
      drainMs: 0,
    });
    return `http://${rt.addresses['l']}`;
  }
  /** Answers the oldest held request after `ms` on the fake clock. */
  function release(ms: number): void {
    const h = held.shift();
    if (!h) throw new Error('nothing held');
    clock.advance(ms);
    h.res.writeHead(h.path.startsWith('/fail') ? 500 : 200);
    h.res.end(h.path);
  }
  async function stopAndReadLog(): Promise<string[]> {
    await rt.stop(0);
    return readFileSync(logPath, 'utf8').trim().split('\n');
  }
  afterEach(async () => {
    held.splice(0);
    await rt?.stop(0);
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('max_requests overflow: 503 with x-envoy-overloaded, UO in the access log, upstream_rq_pending_overflow', async () => {
    const base = await start('circuit_breakers: {thresholds: [{max_requests: 1}]}');
    const first = httpRequest(`${base}/first`);
    await until(() => held.length === 1);
    expect(rt.stats.value('cluster.c.circuit_breakers.default.rq_open')).toBe(1);
    const over = await httpRequest(`${base}/second`);
    expect(over.status).toBe(503);
    expect(over.headers['x-envoy-overloaded']).toBe('true');
    expect(over.body).toBe('upstream connect error or disconnect/reset before headers. reset reason: overflow');
    expect(up.requests).toHaveLength(1);
    expect(rt.stats.value('cluster.c.upstream_rq_pending_overflow')).toBe(1);
    expect(rt.stats.value('cluster.c.upstream_rq_total')).toBe(1);
    release(10);
    expect((await first).status).toBe(200);
    await until(() => rt.stats.value('cluster.c.upstream_rq_active') === 0);
    expect(rt.stats.value('cluster.c.circuit_breakers.default.rq_open')).toBe(0);
    const log = await stopAndReadLog();
    expect(log.sort()).toEqual(['200 - c /first', '503 UO c /second']);
  });

  it('admin /stats shows upstream_rq_5xx, the upstream_rq_time histogram and upstream_cx_active after real traffic', async () => {
    const base = await start();
    // Latencies on the fake clock: 20, 40, 80 ms (200) and 300, 600 ms (500), one at a time.
    const plan: [string, number][] = [
      ['/ok1', 20],
      ['/ok2', 40],
      ['/ok3', 80],
      ['/fail1', 300],
      ['/fail2', 600],
    ];
    for (const [p, ms] of plan) {
      const r = httpRequest(`${base}${p}`);
      await until(() => held.length === 1);
      release(ms);
      expect((await r).status).toBe(p.startsWith('/fail') ? 500 : 200);
    }
    const admin = `http://${rt.addresses['admin']}`;
    const text = (await httpRequest(`${admin}/stats?filter=^cluster\\.c\\.`)).body;
    const lines = new Map(
      text
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
    );
    expect(lines.get('cluster.c.upstream_rq_5xx')).toBe('2');
    expect(lines.get('cluster.c.upstream_rq_500')).toBe('2');
    expect(lines.get('cluster.c.upstream_rq_2xx')).toBe('3');
    expect(lines.get('cluster.c.upstream_rq_total')).toBe('5');
    expect(lines.get('cluster.c.upstream_rq_active')).toBe('0');
    // One keep-alive connection carried all five requests and is still open.
    expect(lines.get('cluster.c.upstream_cx_active')).toBe('1');
    expect(lines.get('cluster.c.upstream_cx_total')).toBe('1');
    // Quantiles are bucket upper bounds: 20→25, 40→50, 80→100, 300→500, 600→1000.
    expect(lines.get('cluster.c.upstream_rq_time')).toBe(
      'P0(25,25) P25(50,50) P50(100,100) P75(500,500) P90(1000,1000) P95(1000,1000) P99(1000,1000) P99.5(1000,1000) P99.9(1000,1000) P100(1000,1000)',
    );
    const json = JSON.parse((await httpRequest(`${admin}/stats?format=json&filter=upstream_rq_time`)).body) as {
      stats: { histograms?: { computed_quantiles: { name: string; values: { cumulative: number | null }[] }[] } }[];
    };
    const hist = json.stats.find((s) => s.histograms)?.histograms?.computed_quantiles;
    expect(hist?.find((h) => h.name === 'cluster.c.upstream_rq_time')?.values[2].cumulative).toBe(100);

    await up.close();
    await until(() => rt.stats.value('cluster.c.upstream_cx_active') === 0);
    expect((await httpRequest(`${admin}/stats?filter=upstream_cx_active`)).body).toContain(
      'cluster.c.upstream_cx_active: 0',
    );
    const log = await stopAndReadLog();
    expect(log).toEqual(['200 - c /ok1', '200 - c /ok2', '200 - c /ok3', '500 - c /fail1', '500 - c /fail2']);
  });
});
