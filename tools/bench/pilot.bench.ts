/**
 * Pilot control-plane benchmark (not a test): 1,000 services × 5 endpoints in
 * the folder registry, 100 simulated ADS clients over real gRPC on loopback
 * against the built Pilot (`dist/apps/pilot/main.js`, build it first).
 * Reports convergence time (file change → last response ACKed by each proxy)
 * for an endpoint change and a VirtualService change, Pilot CPU ms per proxy
 * per full push, bytes per proxy per push and Pilot RSS.
 *
 * Fairness: every client has its own HTTP/2 connection with Envoy's default
 * flow-control windows (until 2026-11-23 all 100 shared one connection with
 * 64 KiB windows, which throttled a 43 MB push; `--shared-connection` keeps
 * that mode). The clients stay in this one process: profiled during the
 * VirtualService rounds it was ~80 % idle, so it is not what Pilot waits on.
 *
 *   npm run bench:pilot -- [--services 1000] [--clients 100] [--rounds 10]
 *                          [--pilot path/to/main.js] [--shared-connection]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition } from '@tsmesh/protocol';

interface Response {
  version_info: string;
  nonce: string;
  type_url: string;
  bytes: number;
}

/** A thin ADS client: no decoding, ACKs by hand (the bench measures Pilot, not the client). */
type AdsCall = grpc.ClientDuplexStream<Record<string, unknown>, Record<string, unknown>>;

class AdsClient {
  private readonly client: grpc.Client;
  private readonly call: AdsCall;
  readonly received: Response[] = [];
  private readonly listeners: ((r: Response) => void)[] = [];
  private readonly waiting: { type: string; resolve: (r: Response) => void }[] = [];
  private sentNode = false;

  constructor(private readonly opts: { address: string; nodeId: string }) {
    const Ctor = grpc.makeGenericClientConstructor(adsServiceDefinition(), 'ads');
    this.client = new Ctor(opts.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    this.call = (this.client as unknown as { StreamAggregatedResources(): AdsCall }).StreamAggregatedResources();
    this.call.on('error', () => undefined);
    this.call.on('data', (raw: Record<string, unknown>) => {
      let bytes = 0;
      for (const w of (raw['resources'] as { value: Buffer }[]) ?? []) bytes += w.value.length;
      const r = {
        version_info: String(raw['version_info']),
        nonce: String(raw['nonce']),
        type_url: String(raw['type_url']),
        bytes,
      };
      this.received.push(r);
      const i = this.waiting.findIndex((w) => w.type === r.type_url);
      if (i >= 0) this.waiting.splice(i, 1)[0].resolve(r);
      for (const l of this.listeners) l(r);
    });
  }

  onResponse(fn: (r: Response) => void): void {
    this.listeners.push(fn);
  }

  send(typeUrl: string, names: string[], version = '', nonce = ''): void {
    const req: Record<string, unknown> = {
      type_url: typeUrl,
      resource_names: names,
      version_info: version,
      response_nonce: nonce,
    };
    if (!this.sentNode) {
      req['node'] = { id: this.opts.nodeId, cluster: 'bench' };
      this.sentNode = true;
    }
    this.call.write(req);
  }

  subscribe(typeUrl: string, names: string[] = []): Promise<Response> {
    const p = new Promise<Response>((resolve) => this.waiting.push({ type: typeUrl, resolve }));
    this.send(typeUrl, names);
    return p;
  }

  ack(r: Response, names: string[]): void {
    this.send(r.type_url, names, r.version_info, r.nonce);
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

const TYPE = {
  cds: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  eds: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  lds: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  rds: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
};

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}
function strArg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const SERVICES = arg('services', 1000);
const CLIENTS = arg('clients', 100);
const ROUNDS = arg('rounds', 10);
const PILOT_MAIN = strArg('pilot', 'dist/apps/pilot/main.js');
const SHARED_CONNECTION = flag('shared-connection');
/**
 * Each simulated proxy gets its own HTTP/2 connection with Envoy's default
 * flow-control windows (initial stream and connection window 256 MiB), as 100
 * Envoys would; `--shared-connection` puts all clients on one connection with
 * grpc-js's 64 KiB windows (how this bench ran before 2026-11-23 10:00).
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = SHARED_CONNECTION
  ? {}
  : { 'grpc.use_local_subchannel_pool': 1, 'grpc-node.flow_control_window': 256 * 1024 * 1024 };

function servicesYaml(n: number): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    const addrs = Array.from({ length: 5 }, (_, k) => `{ip: 10.${10 + (i >> 8)}.${i & 255}.${k + 1}}`).join(', ');
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: svc-${i}, namespace: default}
spec: {clusterIP: 10.96.${i >> 8}.${i & 255}, ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: svc-${i}, namespace: default}
subsets: [{addresses: [${addrs}], ports: [{name: http, port: 8080}]}]`);
  }
  return docs.join('\n---\n') + '\n';
}

function endpointsYaml(extra: number): string {
  const addrs = Array.from({ length: 5 }, (_, k) => `{ip: 10.250.0.${k + 1}}`);
  addrs.push(`{ip: 10.250.1.${extra % 250}}`);
  return `apiVersion: v1
kind: Service
metadata: {name: moving, namespace: default}
spec: {clusterIP: 10.97.0.1, ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: moving, namespace: default}
subsets: [{addresses: [${addrs.join(', ')}], ports: [{name: http, port: 8080}]}]
`;
}

function vsYaml(w: number): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: svc-0}
spec:
  host: svc-0
  subsets: [{name: a, labels: {v: a}}, {name: b, labels: {v: b}}]
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: svc-0}
spec:
  hosts: [svc-0]
  http:
  - route:
    - {destination: {host: svc-0, subset: a}, weight: ${w}}
    - {destination: {host: svc-0, subset: b}, weight: ${100 - w}}
`;
}

function procStat(pid: number): { cpuMs: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime + stime (fields 14, 15)
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuMs: (ticks * 1000) / 100, rssMb: rss / 1024 };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const pushLog: { waited: number; build: number; push: number }[] = [];

async function startPilot(dir: string): Promise<{ child: ChildProcess; grpc: string }> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env['PILOT_BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
      PILOT_MAIN,
      '--config-dir',
      dir,
      '--grpc-addr',
      '127.0.0.1:0',
      '--http-addr',
      '127.0.0.1:0',
      '--log-level',
      'info',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, PILOT_LOG_LEVEL: 'info' },
    },
  );
  const grpc = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /"listener":"grpc","address":"([^"]+)"/.exec(buf);
      if (m) resolve(m[1]);
    });
    child.once('exit', (c) => reject(new Error(`pilot exited ${c}`)));
  });
  child.stdout?.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      const m = /"waitedMs":(\d+),"buildMs":(\d+),"pushMs":(\d+)/.exec(line);
      if (m) pushLog.push({ waited: Number(m[1]), build: Number(m[2]), push: Number(m[3]) });
    }
  });
  return { child, grpc };
}

interface Sim {
  client: AdsClient;
  names: Map<string, string[]>;
  lastAt: number;
  bytes: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pilot-bench-'));
  writeFileSync(join(dir, 'services.yaml'), servicesYaml(SERVICES));
  writeFileSync(join(dir, 'moving.yaml'), endpointsYaml(0));
  writeFileSync(join(dir, 'vs.yaml'), vsYaml(50));
  const { child, grpc: grpcAddr } = await startPilot(dir);
  const pid = child.pid as number;
  const sims: Sim[] = [];
  try {
    // Connect and sync every client (CDS → EDS → LDS → RDS), ACKing each response at once.
    const t0 = performance.now();
    for (let i = 0; i < CLIENTS; i++) {
      const client = new AdsClient({
        address: grpcAddr,
        nodeId: `sidecar~10.200.${i >> 8}.${i & 255}~app-${i}.default~default.svc.cluster.local`,
      });
      const sim: Sim = { client, names: new Map(), lastAt: 0, bytes: 0 };
      client.onResponse((r: Response) => {
        sim.lastAt = performance.now();
        sim.bytes += r.bytes;
        client.ack(r, sim.names.get(r.type_url) ?? []);
      });
      sims.push(sim);
    }
    await Promise.all(
      sims.map(async (s) => {
        // Names for EDS: every outbound EDS cluster; decode only what is needed to know them.
        const names = Array.from({ length: SERVICES }, (_, i) => `outbound|8080||svc-${i}.default.svc.cluster.local`);
        names.push(
          'outbound|8080||moving.default.svc.cluster.local',
          'outbound|8080|a|svc-0.default.svc.cluster.local',
          'outbound|8080|b|svc-0.default.svc.cluster.local',
        );
        s.names.set(TYPE.eds, names.sort());
        s.names.set(TYPE.rds, ['8080']);
        await s.client.subscribe(TYPE.cds);
        await s.client.subscribe(TYPE.eds, s.names.get(TYPE.eds));
        await s.client.subscribe(TYPE.lds);
        await s.client.subscribe(TYPE.rds, ['8080']);
      }),
    );
    const syncMs = performance.now() - t0;
    const initialBytes = sims.reduce((a, s) => a + s.bytes, 0) / sims.length;
    await new Promise((r) => setTimeout(r, 500));

    async function round(change: () => void, expect: number): Promise<{ samples: number[]; bytes: number }> {
      const before = sims.map((s) => s.client.received.length);
      const bytesBefore = sims.map((s) => s.bytes);
      const start = performance.now();
      change();
      const deadline = Date.now() + 15_000;
      while (sims.some((s, i) => s.client.received.length - before[i] < expect) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50));
      return {
        samples: sims.filter((s, i) => s.client.received.length > before[i]).map((s) => s.lastAt - start),
        bytes: sims.reduce((a, s, i) => a + s.bytes - bytesBefore[i], 0) / sims.length,
      };
    }

    const eds: number[] = [];
    let edsBytes = 0;
    for (let k = 1; k <= ROUNDS; k++) {
      const r = await round(() => writeFileSync(join(dir, 'moving.yaml'), endpointsYaml(k)), 1);
      eds.push(...r.samples);
      edsBytes += r.bytes / ROUNDS;
      await new Promise((res) => setTimeout(res, 200));
    }
    const vs: number[] = [];
    let vsBytes = 0;
    const cpuBefore = procStat(pid).cpuMs;
    for (let k = 1; k <= ROUNDS; k++) {
      const r = await round(() => writeFileSync(join(dir, 'vs.yaml'), vsYaml(k % 2 ? 20 : 80)), 1);
      vs.push(...r.samples);
      vsBytes += r.bytes / ROUNDS;
      await new Promise((res) => setTimeout(res, 200));
    }
    const cpuPerProxyPerPush = (procStat(pid).cpuMs - cpuBefore) / ROUNDS / CLIENTS;
    const { rssMb } = procStat(pid);
    eds.sort((a, b) => a - b);
    vs.sort((a, b) => a - b);
    const f = (n: number) => n.toFixed(1);
    console.log(
      `\n### Pilot (${SERVICES} services × 5 endpoints, ${CLIENTS} ADS clients, ${ROUNDS} rounds, ${new Date().toISOString()})\n\n` +
        `${PILOT_MAIN}; ${SHARED_CONNECTION ? 'one shared connection, 64 KiB windows' : 'a connection per client, 256 MiB windows'}; load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}\n`,
    );
    console.log('| measure | p50 | p90 | p99 | samples |');
    console.log('| --- | --- | --- | --- | --- |');
    console.log(
      `| convergence, endpoint change (ms) | ${f(pct(eds, 50))} | ${f(pct(eds, 90))} | ${f(pct(eds, 99))} | ${eds.length} |`,
    );
    console.log(
      `| convergence, VirtualService change (ms) | ${f(pct(vs, 50))} | ${f(pct(vs, 90))} | ${f(pct(vs, 99))} | ${vs.length} |`,
    );
    console.log('\n| measure | value |');
    console.log('| --- | --- |');
    console.log(`| initial sync of all clients (ms) | ${f(syncMs)} |`);
    console.log(`| bytes per proxy, initial full sync (CDS+EDS+LDS+RDS) | ${Math.round(initialBytes)} |`);
    console.log(`| bytes per proxy, endpoint-change push | ${Math.round(edsBytes)} |`);
    console.log(`| bytes per proxy, VirtualService-change push | ${Math.round(vsBytes)} |`);
    console.log(`| Pilot CPU ms per proxy per full push (VirtualService change) | ${cpuPerProxyPerPush.toFixed(2)} |`);
    console.log(`| Pilot RSS (MB) | ${f(rssMb)} |`);
    const med = (k: 'waited' | 'build' | 'push') =>
      pct(
        pushLog.map((p) => p[k]).sort((a, b) => a - b),
        50,
      );
    console.log(
      `| Pilot per push, median: debounce wait / context build / send to all (ms) | ${med('waited')} / ${med('build')} / ${med('push')} |`,
    );
  } finally {
    for (const s of sims) s.client.close();
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
