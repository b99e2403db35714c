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
 *     [--paced <req/s>] [--baseline <bench bundle.js> [--together]] [--only bare,log,trace,both]
 *     [--cpu-prof <dir>]
 *
 *   --paced <rate>: instead of autocannon at saturation, a fixed rate with h2load (`--h1
 *     -c<connections> --rps=<rate/connections>`, one h2load whose clients send together, as
 *     proxy.bench's `bursts` shape): the sidecar targets (vCPU per 1000 req/s) are stated at a
 *     fixed rate, where a request's cost includes the event-loop wake-ups saturation amortises.
 *   --baseline <bundle>: each telemetry row is repeated with its proxy process running from that
 *     bundle (e.g. tmp/bench/proxy-telemetry.js copied aside before a change), interleaved with
 *     this build's rows in every round, so an A/B sees the same machine load.
 *   --together: with --baseline, each telemetry row and its baseline row are loaded at the same
 *     time in every round (no separate bare row), and the table shows the per-round ratio of their
 *     CPU per request: a paired A/B that a load change on the shared machine moves together.
 *   --only: the rows to run (default all four).
 *   --cpu-prof <dir>: the proxy processes run with `node --cpu-prof` and are stopped with SIGINT
 *     at the end, so each writes a .cpuprofile there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
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

function spawnRole(
  args: string[],
  script = process.argv[1],
  prof = '',
): Promise<{ child: ChildProcess; port: number }> {
  const flags = prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [];
  const child = spawn(process.execPath, [...flags, script, ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
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
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.on('exit', () => resolve());
    child.on('error', () => resolve());
  });
}

/** Fixed-rate load with h2load; latencies from its per-request log (start µs, status, duration µs). */
async function pacedLoad(
  port: number,
  seconds: number,
  connections: number,
  rate: number,
  dir: string,
): Promise<Omit<Sample, 'cpu'>> {
  const log = join(dir, `h2load-${port}.log`);
  rmSync(log, { force: true }); // h2load appends to an existing log
  await run('h2load', [
    '--h1',
    `-c${connections}`,
    `--rps=${rate / connections}`,
    `-D${seconds}`,
    `--log-file=${log}`,
    `http://127.0.0.1:${port}/`,
  ]);
  const rows = readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t').map(Number));
  const ok = rows.filter((r) => r[1] >= 200 && r[1] < 300);
  const lat = ok.map((r) => r[2] / 1000).sort((a, b) => a - b);
  const q = (p: number) =>
    lat.length ? Number(lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(2)) : NaN;
  return {
    requests: rows.length,
    rps: rows.length / seconds,
    p50: q(0.5),
    p99: q(0.99),
    errors: rows.length - ok.length,
  };
}

async function load(proxy: Role, seconds: number, connections: number, rate = 0, dir = ''): Promise<Sample> {
  const before = await cpuMs(proxy.child);
  if (rate > 0) {
    const r = await pacedLoad(proxy.port, seconds, connections, rate, dir);
    const used = (await cpuMs(proxy.child)) - before;
    return { ...r, cpu: (used / Math.max(1, r.requests)) * 1000 };
  }
  const r = await autocannon({
    url: `http://127.0.0.1:${proxy.port}/`,
    connections,
    duration: seconds,
    pipelining: 1,
  });
  const used = (await cpuMs(proxy.child)) - before;
  return {
    cpu: (used / Math.max(1, r.requests.total)) * 1000,
    requests: r.requests.total,
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
  const rate = Number(arg('paced', '0'));
  const baseline = arg('baseline', '');
  const only = arg('only', 'bare,log,trace,both').split(',');
  const prof = arg('cpu-prof', '');
  const together = process.argv.includes('--together');
  if (together && !baseline) throw new Error('--together needs --baseline');
  const dir = mkdtempSync(join(tmpdir(), 'proxy-telemetry-'));
  const children: ChildProcess[] = [];
  const proxies: ChildProcess[] = [];
  try {
    const upstream = await spawnRole(['--role', 'upstream']);
    const zipkin = await spawnRole(['--role', 'zipkin']);
    children.push(upstream.child, zipkin.child);
    const proxy = async (zip: boolean, log: boolean, script?: string) => {
      const p = await spawnRole(
        [
          '--role',
          'proxy',
          '--target',
          String(upstream.port),
          '--zipkin',
          zip ? String(zipkin.port) : '0',
          '--accesslog',
          log ? '1' : '0',
        ],
        script,
        prof,
      );
      proxies.push(p.child);
      return p;
    };
    const rows: [key: string, name: string, zip: boolean, log: boolean][] = [
      ['bare', 'sidecar, no access log, no tracing', false, false],
      ['log', 'sidecar + access log (default format)', false, true],
      ['trace', 'sidecar + Zipkin tracing (100%)', true, false],
      ['both', 'sidecar + access log + tracing', true, true],
    ];
    const scenarios: [string, Role][] = [];
    for (const [key, name, zip, log] of rows) {
      if (!only.includes(key)) continue;
      scenarios.push([name, await proxy(zip, log)]);
      if (baseline && key !== 'bare')
        scenarios.push([`${name}, baseline ${baseline}`, await proxy(zip, log, baseline)]);
    }
    for (const [, p] of scenarios) await load(p, 1, connections, rate, dir); // warm-up
    if (together) {
      // Each telemetry row and its baseline row are loaded at the same time, round after round,
      // so both see the same machine; the per-round ratio of their CPU per request is the figure.
      const pairs: { name: string; a: Role; b: Role; ratios: number[]; ca: number[]; cb: number[] }[] = [];
      for (let i = 0; i + 1 < scenarios.length; i++) {
        if (scenarios[i + 1][0].startsWith(`${scenarios[i][0]}, baseline`)) {
          pairs.push({ name: scenarios[i][0], a: scenarios[i][1], b: scenarios[i + 1][1], ratios: [], ca: [], cb: [] });
        }
      }
      for (let r = 0; r < rounds; r++) {
        for (const pair of pairs) {
          const [sa, sb] = await Promise.all([
            load(pair.a, seconds, connections, rate, dir),
            load(pair.b, seconds, connections, rate, dir),
          ]);
          pair.ratios.push(sa.cpu / sb.cpu);
          pair.ca.push(sa.cpu);
          pair.cb.push(sb.cpu);
        }
      }
      const how = rate > 0 ? `h2load paced at ${rate} req/s each` : 'autocannon at saturation, both at once';
      console.log(`\n### This build vs ${baseline}, loaded together (${rounds} rounds × ${seconds}s, ${how})\n`);
      console.log(
        `Load average ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' / ')} at the end.\n`,
      );
      console.log(
        '| sidecar | CPU ms per 1000 req, this build (median) | baseline (median) | ratio per round (median, min..max) |',
      );
      console.log('| --- | --- | --- | --- |');
      for (const p of pairs) {
        console.log(
          `| ${p.name} | ${median(p.ca).toFixed(1)} | ${median(p.cb).toFixed(1)} | ${median(p.ratios).toFixed(3)} (${Math.min(...p.ratios).toFixed(3)}..${Math.max(...p.ratios).toFixed(3)}) |`,
        );
      }
      return;
    }
    const results = new Map<string, Sample[]>(scenarios.map(([n]) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      // Every other round runs the rows in reverse, so no row always follows the same neighbour.
      const order = r % 2 ? [...scenarios].reverse() : scenarios;
      for (const [name, p] of order)
        (results.get(name) as Sample[]).push(await load(p, seconds, connections, rate, dir));
    }
    const base = median((results.get(scenarios[0][0]) as Sample[]).map((s) => s.rps));
    const baseCpu = median((results.get(scenarios[0][0]) as Sample[]).map((s) => s.cpu));
    const how = rate > 0 ? `h2load paced at ${rate} req/s` : 'autocannon at saturation';
    console.log(
      `\n### Proxy telemetry cost (${rounds} interleaved rounds × ${seconds}s, ${connections} connections, ${how})\n`,
    );
    console.log(
      `Load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' / ')} at the end. Ratios and "extra" are to the first row.\n`,
    );
    console.log(
      '| sidecar | req/s (median) | ratio to first row | proxy CPU ms per 1000 req (median, min..max) | extra over first row | p50 ms | p99 ms | errors |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [name] of scenarios) {
      const s = results.get(name) as Sample[];
      const rps = median(s.map((x) => x.rps));
      const cpus = s.map((x) => x.cpu);
      const cpu = median(cpus);
      console.log(
        `| ${name} | ${Math.round(rps)} | ${(rps / base).toFixed(2)} | ${cpu.toFixed(1)} (${Math.min(...cpus).toFixed(1)}..${Math.max(...cpus).toFixed(1)}) | ${(cpu - baseCpu).toFixed(1)} | ${median(s.map((x) => x.p50))} | ${median(s.map((x) => x.p99))} | ${s.reduce((a, x) => a + x.errors, 0)} |`,
      );
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
    // SIGINT lets a --cpu-prof process exit normally and write its profile.
    await Promise.all(
      proxies.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill(prof ? 'SIGINT' : 'SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
