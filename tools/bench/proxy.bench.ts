/**
 * Data-plane throughput benchmark (not a test): direct vs one tsmesh hop vs two tsmesh hops,
 * with a plain node:http keep-alive relay as a reference point, and haproxy and nginx as the
 * same one hop when they are installed. Every server and proxy runs in its own process (this
 * file re-executes itself with --role). Throughput is driven by wrk when installed (autocannon
 * otherwise); added latency is measured paced at a fixed rate (autocannon `overallRate`). Rounds
 * are interleaved and the tables report medians and ratios measured in the same run.
 *
 *   node tools/bench/run.mjs proxy [--duration 4] [--rounds 3] [--connections 16] [--rate 1000] [--tool autocannon]
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { silentLogger } from '@tsmesh/core';
import { makeTestCert } from '@tsmesh/testing';
import { fromYaml } from '@tsmesh/protocol';
import { Dataplane, FilterRegistry, registerBuiltinFilters, type Msg } from '@tsmesh/dataplane';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const BODY = 'hello world\n';

async function roleUpstream(): Promise<void> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
}

async function roleRelay(target: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const up = http.request(
      { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers, agent },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
}

/** TLS material shared by the mTLS roles (set by the parent in BENCH_TLS). */
function benchTls(): { key: string; cert: string; ca: string } {
  return JSON.parse(process.env['BENCH_TLS'] ?? '{}') as { key: string; cert: string; ca: string };
}

function tlsYaml(kind: 'DownstreamTlsContext' | 'UpstreamTlsContext', indent: string): string {
  const t = benchTls();
  const lines = [
    `transport_socket:`,
    `  name: envoy.transport_sockets.tls`,
    `  typed_config:`,
    `    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.${kind}`,
    ...(kind === 'DownstreamTlsContext' ? [`    require_client_certificate: true`] : []),
    `    common_tls_context:`,
    `      tls_certificates: [{certificate_chain: {inline_string: ${JSON.stringify(t.cert)}}, private_key: {inline_string: ${JSON.stringify(t.key)}}}]`,
    `      validation_context: {trusted_ca: {inline_string: ${JSON.stringify(t.ca)}}}`,
  ];
  return lines.map((l) => indent + l).join('\n');
}

/** One tsmesh hop; `tls` makes its listener (server) or its upstream cluster (client) speak mTLS. */
async function roleTsmesh(target: number, tls: 'none' | 'server' | 'client' = 'none'): Promise<void> {
  const dp = new Dataplane({
    nodeId: 'bench',
    logger: silentLogger(),
    filters: registerBuiltinFilters(new FilterRegistry()),
  });
  const listener = fromYaml<Msg>(
    'envoy.config.listener.v3.Listener',
    `
name: l
address: {socket_address: {address: 127.0.0.1, port_value: 0}}
filter_chains:
- ${tls === 'server' ? tlsYaml('DownstreamTlsContext', '  ').trimStart() : ''}
  filters:
  - name: envoy.filters.network.http_connection_manager
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      stat_prefix: bench
      route_config:
        name: r
        virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: up}}]}]
      http_filters:
      - name: envoy.filters.http.router
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
`,
  );
  const cluster = fromYaml<Msg>(
    'envoy.config.cluster.v3.Cluster',
    `
name: up
type: STATIC
connect_timeout: 1s
load_assignment:
  cluster_name: up
  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${target}}}}}]}]
${tls === 'client' ? tlsYaml('UpstreamTlsContext', '') : ''}
`,
  );
  await dp.apply({ listeners: [listener], routes: [], clusters: [cluster], endpoints: [], secrets: [] });
  console.log(JSON.stringify({ port: Number((dp.address('l') as string).split(':')[1]) }));
}

function spawnRole(role: string, target?: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [process.argv[1], '--role', role, '--target', String(target ?? 0)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /\{"port":(\d+)\}/.exec(buf);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (c) => reject(new Error(`${role} exited ${c}`)));
  });
}

interface Sample {
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
}

/** user+system CPU of a child process so far, in ms (Linux /proc; clock ticks of 10 ms). */
function cpuMs(child: ChildProcess): number {
  try {
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on ${port}`);
}

/** haproxy or nginx as a one-hop HTTP/1.1 keep-alive reverse proxy to `target`. */
async function spawnPeer(
  kind: 'haproxy' | 'nginx',
  target: number,
  dir: string,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const cfg = join(dir, `${kind}.cfg`);
  let child: ChildProcess;
  if (kind === 'haproxy') {
    writeFileSync(
      cfg,
      `global\n  nbthread 1\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 60s\n  timeout server 60s\n  option http-keep-alive\n` +
        `frontend f\n  bind 127.0.0.1:${port}\n  default_backend b\nbackend b\n  http-reuse always\n  server s1 127.0.0.1:${target}\n`,
    );
    child = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } else {
    writeFileSync(
      cfg,
      `worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/nginx-error.log;\nevents { worker_connections 4096; }\n` +
        `http {\n  access_log off;\n  client_body_temp_path ${dir};\n  proxy_temp_path ${dir};\n  fastcgi_temp_path ${dir};\n  uwsgi_temp_path ${dir};\n  scgi_temp_path ${dir};\n` +
        `  upstream up { server 127.0.0.1:${target}; keepalive 64; }\n` +
        `  server { listen 127.0.0.1:${port}; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }\n}\n`,
    );
    child = spawn('nginx', ['-c', cfg, '-p', dir, '-g', 'daemon off; master_process off;'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  await waitListening(port);
  return { child, port };
}

function parseWrkMs(text: string, label: string): number {
  const m = new RegExp(`\\s${label}\\s+([\\d.]+)(us|ms|s)`).exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

async function load(port: number, seconds: number, connections: number, tool: string): Promise<Sample> {
  const url = `http://127.0.0.1:${port}/`;
  if (tool === 'wrk') {
    const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url], {
      encoding: 'utf8',
    });
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
    return { rps, p50: parseWrkMs(out, '50%'), p90: parseWrkMs(out, '90%'), p99: parseWrkMs(out, '99%'), errors };
  }
  const r = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

/** Fixed-rate load (paced across `connections`), for added latency rather than peak throughput. */
async function paced(port: number, seconds: number, connections: number, rate: number): Promise<Sample> {
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: seconds, overallRate: rate });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const role = arg('role', '');
  const target = Number(arg('target', '0'));
  // Exit normally on SIGINT so `--cpu-prof` can write its profile.
  if (role) process.on('SIGINT', () => process.exit(0));
  if (role === 'upstream') return roleUpstream();
  if (role === 'relay') return roleRelay(target);
  if (role === 'tsmesh') return roleTsmesh(target);
  if (role === 'tsmesh-mtls-server') return roleTsmesh(target, 'server');
  if (role === 'tsmesh-mtls-client') return roleTsmesh(target, 'client');

  const seconds = Number(arg('duration', '4'));
  const rounds = Number(arg('rounds', '3'));
  const connections = Number(arg('connections', '16'));
  const rate = Number(arg('rate', '1000'));
  const tool = arg('tool', has('wrk') ? 'wrk' : 'autocannon');
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tsmesh-bench-'));
  try {
    const upstream = await spawnRole('upstream');
    const relay = await spawnRole('relay', upstream.port);
    const hop1 = await spawnRole('tsmesh', upstream.port);
    const hop2a = await spawnRole('tsmesh', upstream.port);
    const hop2b = await spawnRole('tsmesh', hop2a.port);
    process.env['BENCH_TLS'] = JSON.stringify(
      makeTestCert('bench', { uri: ['spiffe://cluster.local/ns/default/sa/bench'] }),
    );
    const mtlsA = await spawnRole('tsmesh-mtls-server', upstream.port);
    const mtlsB = await spawnRole('tsmesh-mtls-client', mtlsA.port);
    children.push(upstream.child, relay.child, hop1.child, hop2a.child, hop2b.child, mtlsA.child, mtlsB.child);
    // Proxy processes on each path, for CPU per request.
    const proxiesOf = new Map<string, ChildProcess[]>([
      ['node:http keep-alive relay (reference)', [relay.child]],
      ['tsmesh, one hop', [hop1.child]],
      ['tsmesh, two hops', [hop2a.child, hop2b.child]],
      ['tsmesh, two hops, mTLS between them', [mtlsA.child, mtlsB.child]],
    ]);
    const scenarios: [string, number][] = [
      ['direct (node:http server)', upstream.port],
      ['node:http keep-alive relay (reference)', relay.port],
      ['tsmesh, one hop', hop1.port],
      ['tsmesh, two hops', hop2b.port],
      ['tsmesh, two hops, mTLS between them', mtlsB.port],
    ];
    for (const kind of ['haproxy', 'nginx'] as const) {
      if (!has(kind)) {
        console.log(`(${kind} not installed: its row is left out)`);
        continue;
      }
      const peer = await spawnPeer(kind, upstream.port, dir);
      children.push(peer.child);
      proxiesOf.set(`${kind}, one hop`, [peer.child]);
      scenarios.push([`${kind}, one hop`, peer.port]);
    }
    for (const [, port] of scenarios) await load(port, 1, connections, tool); // warm-up
    const results = new Map<string, Sample[]>(scenarios.map(([n]) => [n, []]));
    const pacedResults = new Map<string, Sample[]>(scenarios.map(([n]) => [n, []]));
    const cpu = new Map<string, number[]>(scenarios.map(([n]) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      for (const [name, port] of scenarios) {
        const procs = proxiesOf.get(name) ?? [];
        const before = procs.map(cpuMs);
        const sample = await load(port, seconds, connections, tool);
        const used = procs.reduce((a, p, i) => a + cpuMs(p) - before[i], 0);
        // CPU ms per 1000 requests per proxy process = vCPU per 1000 rps per proxy, × 1000.
        if (procs.length) (cpu.get(name) as number[]).push((used / (sample.rps * seconds) / procs.length) * 1000);
        (results.get(name) as Sample[]).push(sample);
        (pacedResults.get(name) as Sample[]).push(await paced(port, seconds, connections, rate));
      }
    }
    const med = (name: string, pick: (s: Sample) => number, from = results) =>
      median((from.get(name) as Sample[]).map(pick));
    const direct = med(scenarios[0][0], (x) => x.rps);
    const haproxy = results.has('haproxy, one hop') ? med('haproxy, one hop', (x) => x.rps) : NaN;
    console.log(
      `\n### Proxy throughput (${rounds} interleaved rounds × ${seconds}s, ${connections} connections, ${tool}, ${BODY.length}-byte body)\n`,
    );
    console.log('| path | req/s (median) | ratio to direct | ratio to haproxy | p50 ms | p99 ms | errors |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const [name] of scenarios) {
      const rps = med(name, (x) => x.rps);
      const errors = (results.get(name) as Sample[]).reduce((a, x) => a + x.errors, 0);
      const vsHaproxy = Number.isNaN(haproxy) ? 'n/a' : (rps / haproxy).toFixed(2);
      console.log(
        `| ${name} | ${Math.round(rps)} | ${(rps / direct).toFixed(2)} | ${vsHaproxy} | ${med(name, (x) => x.p50)} | ${med(name, (x) => x.p99)} | ${errors} |`,
      );
    }
    console.log('\n### Proxy CPU under the throughput load (per proxy process)\n');
    console.log('| path | CPU ms per 1000 requests | ≈ vCPU per 1000 rps |');
    console.log('| --- | --- | --- |');
    for (const [name] of scenarios) {
      const xs = cpu.get(name) as number[];
      if (!xs.length) continue;
      console.log(`| ${name} | ${median(xs).toFixed(1)} | ${(median(xs) / 1000).toFixed(3)} |`);
    }
    const plain = median(cpu.get('tsmesh, two hops') as number[]);
    const mtls = median(cpu.get('tsmesh, two hops, mTLS between them') as number[]);
    console.log(
      `\nmTLS CPU overhead per request on the two-hop path: ${(((mtls - plain) / plain) * 100).toFixed(0)} %`,
    );
    const base = (pick: (s: Sample) => number) => med(scenarios[0][0], pick, pacedResults);
    console.log(
      `\n### Added latency at ${rate} req/s paced, ${connections} connections (autocannon; ms over direct)\n`,
    );
    console.log('| path | p50 | p90 | p99 | errors |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const [name] of scenarios.slice(1)) {
      const d = (pick: (s: Sample) => number) => (med(name, pick, pacedResults) - base(pick)).toFixed(2);
      const errors = (pacedResults.get(name) as Sample[]).reduce((a, x) => a + x.errors, 0);
      console.log(`| ${name} | ${d((x) => x.p50)} | ${d((x) => x.p90)} | ${d((x) => x.p99)} | ${errors} |`);
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
