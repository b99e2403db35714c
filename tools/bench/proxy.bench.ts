/**
 * Data-plane throughput benchmark (not a test): direct vs one tsmesh hop vs two tsmesh hops,
 * with a plain node:http keep-alive relay as a reference point. Every server and proxy runs in
 * its own process (this file re-executes itself with --role); autocannon drives the load from
 * the parent. Rounds are interleaved and the table reports medians and ratios to direct
 * measured in the same run.
 *
 *   node tools/bench/run.mjs proxy [--duration 4] [--rounds 3] [--connections 16]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { silentLogger } from '@tsmesh/core';
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

async function roleTsmesh(target: number): Promise<void> {
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
- filters:
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
  p99: number;
  errors: number;
}

async function load(port: number, seconds: number, connections: number): Promise<Sample> {
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: seconds, pipelining: 1 });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
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

  const seconds = Number(arg('duration', '4'));
  const rounds = Number(arg('rounds', '3'));
  const connections = Number(arg('connections', '16'));
  const children: ChildProcess[] = [];
  try {
    const upstream = await spawnRole('upstream');
    const relay = await spawnRole('relay', upstream.port);
    const hop1 = await spawnRole('tsmesh', upstream.port);
    const hop2a = await spawnRole('tsmesh', upstream.port);
    const hop2b = await spawnRole('tsmesh', hop2a.port);
    children.push(upstream.child, relay.child, hop1.child, hop2a.child, hop2b.child);
    const scenarios: [string, number][] = [
      ['direct (node:http server)', upstream.port],
      ['node:http keep-alive relay (reference)', relay.port],
      ['tsmesh, one hop', hop1.port],
      ['tsmesh, two hops', hop2b.port],
    ];
    for (const [, port] of scenarios) await load(port, 1, connections); // warm-up
    const results = new Map<string, Sample[]>(scenarios.map(([n]) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      for (const [name, port] of scenarios)
        (results.get(name) as Sample[]).push(await load(port, seconds, connections));
    }
    const direct = median((results.get(scenarios[0][0]) as Sample[]).map((s) => s.rps));
    console.log(
      `\n### Proxy throughput (${rounds} interleaved rounds × ${seconds}s, ${connections} connections, autocannon, ${BODY.length}-byte body)\n`,
    );
    console.log('| path | req/s (median) | ratio to direct | p50 ms | p99 ms | errors |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const [name] of scenarios) {
      const s = results.get(name) as Sample[];
      const rps = median(s.map((x) => x.rps));
      console.log(
        `| ${name} | ${Math.round(rps)} | ${(rps / direct).toFixed(2)} | ${median(s.map((x) => x.p50))} | ${median(s.map((x) => x.p99))} | ${s.reduce((a, x) => a + x.errors, 0)} |`,
      );
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}

void main();
