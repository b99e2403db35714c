/**
 * Cost of the proxy's telemetry (not a test): one tsmesh sidecar (ProxyRuntime, as the app runs
 * it) with no access log and no tracing vs with an access log (Envoy default format, to
 * /dev/null) vs with Zipkin tracing at 100% sampling (to a collector that accepts and drops) vs
 * both. Every server and proxy runs in its own process; rounds are interleaved; ratios are to the
 * bare sidecar measured in the same run. Each proxy reports its own CPU time (process.cpuUsage over
 * IPC), printed as ms per 1000 requests (= vCPU per 1000 req/s × 1000) and as extra CPU over the
 * bare sidecar.
 *
 *   node tools/bench/run.mjs proxy-telemetry [--duration 4] [--rounds 3] [--connections 16]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { cpuMs, roleUpstream, roleZipkin } from './roles';
import { silentLogger } from '@tsmesh/core';
import { parseBootstrap, ProxyRuntime, registerBuiltinFilters } from '@tsmesh/dataplane';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

async function roleProxy(target: number, zipkin: number, accessLog: boolean): Promise<void> {
  const cluster = (name: string, port: number) => `
  - name: ${name}
    type: STATIC
    connect_timeout: 1s
    load_assignment: {cluster_name: ${name}, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${port}}}}}]}]}`;
  const bootstrap = parseBootstrap(`
node: {id: "sidecar~127.0.0.1~bench.default~default.svc.cluster.local", cluster: bench}
static_resources:
  listeners:
  - name: l
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    traffic_direction: INBOUND
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bench
          route_config: {name: r, virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: up}}]}]}
          http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]
  clusters:${cluster('up', target)}${zipkin ? cluster('zipkin', zipkin) : ''}
${
  zipkin
    ? `tracing:
  http:
    name: envoy.tracers.zipkin
    typed_config: {"@type": type.googleapis.com/envoy.config.trace.v3.ZipkinConfig, collector_cluster: zipkin, collector_endpoint: /api/v2/spans, collector_endpoint_version: HTTP_JSON}`
    : ''
}
`);
  const rt = await ProxyRuntime.start({
    bootstrap,
    nodeType: 'sidecar',
    logger: silentLogger(),
    registerFilters: registerBuiltinFilters,
    defaultAccessLog: accessLog ? { path: '/dev/null', encoding: 'TEXT' } : undefined,
  });
  console.log(JSON.stringify({ port: Number(rt.addresses['l'].split(':').pop()) }));
}

function spawnRole(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [process.argv[1], ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /\{"port":(\d+)\}/.exec(buf);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (c) => reject(new Error(`${args.join(' ')} exited ${c}`)));
  });
}

interface Sample {
  /** Proxy CPU ms per 1000 requests. */
  cpu: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(proxy: Role, seconds: number, connections: number): Promise<Sample> {
  const before = await cpuMs(proxy.child);
  const r = await autocannon({
    url: `http://127.0.0.1:${proxy.port}/`,
    connections,
    duration: seconds,
    pipelining: 1,
  });
  const used = (await cpuMs(proxy.child)) - before;
  return {
    cpu: (used / Math.max(1, r.requests.total)) * 1000,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

type Role = { child: ChildProcess; port: number };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const role = arg('role', '');
  if (role) {
    process.on('SIGINT', () => process.exit(0));
    process.on('message', (m) => {
      if (m !== 'cpu') return;
      const u = process.cpuUsage();
      process.send?.({ cpu: u.user + u.system });
    });
  }
  if (role === 'upstream') return roleUpstream();
  if (role === 'zipkin') return roleZipkin();
  if (role === 'proxy')
    return roleProxy(Number(arg('target', '0')), Number(arg('zipkin', '0')), arg('accesslog', '0') === '1');

  const seconds = Number(arg('duration', '4'));
  const rounds = Number(arg('rounds', '3'));
  const connections = Number(arg('connections', '16'));
  const children: ChildProcess[] = [];
  try {
    const upstream = await spawnRole(['--role', 'upstream']);
    const zipkin = await spawnRole(['--role', 'zipkin']);
    children.push(upstream.child, zipkin.child);
    const proxy = async (zip: boolean, log: boolean) => {
      const p = await spawnRole([
        '--role',
        'proxy',
        '--target',
        String(upstream.port),
        '--zipkin',
        zip ? String(zipkin.port) : '0',
        '--accesslog',
        log ? '1' : '0',
      ]);
      children.push(p.child);
      return p;
    };
    const scenarios: [string, Role][] = [
      ['sidecar, no access log, no tracing', await proxy(false, false)],
      ['sidecar + access log (default format)', await proxy(false, true)],
      ['sidecar + Zipkin tracing (100%)', await proxy(true, false)],
      ['sidecar + access log + tracing', await proxy(true, true)],
    ];
    for (const [, p] of scenarios) await load(p, 1, connections); // warm-up
    const results = new Map<string, Sample[]>(scenarios.map(([n]) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      for (const [name, p] of scenarios) (results.get(name) as Sample[]).push(await load(p, seconds, connections));
    }
    const base = median((results.get(scenarios[0][0]) as Sample[]).map((s) => s.rps));
    const baseCpu = median((results.get(scenarios[0][0]) as Sample[]).map((s) => s.cpu));
    console.log(
      `\n### Proxy telemetry cost (${rounds} interleaved rounds × ${seconds}s, ${connections} connections, autocannon)\n`,
    );
    console.log(
      `Load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' / ')} at the end.\n`,
    );
    console.log(
      '| sidecar | req/s (median) | ratio to bare sidecar | proxy CPU ms per 1000 req | extra over bare | p50 ms | p99 ms | errors |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [name] of scenarios) {
      const s = results.get(name) as Sample[];
      const rps = median(s.map((x) => x.rps));
      const cpu = median(s.map((x) => x.cpu));
      console.log(
        `| ${name} | ${Math.round(rps)} | ${(rps / base).toFixed(2)} | ${cpu.toFixed(1)} | ${(cpu - baseCpu).toFixed(1)} | ${median(s.map((x) => x.p50))} | ${median(s.map((x) => x.p99))} | ${s.reduce((a, x) => a + x.errors, 0)} |`,
      );
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}

void main();
