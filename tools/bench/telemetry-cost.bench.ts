/**
 * Total cost of Mixer telemetry (not a test), issue #6: "total telemetry cost ≤ 0.05 vCPU per
 * 1,000 mesh requests/s". Two pairs of tsmesh sidecars (ProxyRuntime, each its own process,
 * plaintext), client sidecar → server sidecar → app:
 *   - OFF: no `mixer` filter (the mesh with telemetry off: no attributes built, no Reports);
 *   - ON: the `mixer` filter on both sidecars as Pilot emits it (checks disabled, reports on;
 *     client side `context.reporter.kind: outbound` = reporter="source", server side `inbound` =
 *     reporter="destination"), batched Reports to a real Mixer (dist/apps/mixer/main.js
 *     --mode telemetry, its built-in 1.0 config: prometheus adapter etc.).
 * Paced load (h2load --h1 --rps, autocannon overallRate when h2load is missing) at --rate req/s
 * over --connections keep-alive connections for --duration s, OFF and ON interleaved for --rounds
 * rounds. CPU of each sidecar from its own process.cpuUsage over IPC, Mixer's from /proc
 * (10 ms ticks), each over the load window plus --settle s (so the last batch is flushed and
 * ingested; the same window for both modes). Reported per round and as medians:
 *   sidecars' CPU ms per second OFF and ON, Mixer's CPU ms per second, and
 *   total telemetry cost = (sidecars ON − sidecars OFF) + Mixer, in vCPU per 1000 req/s;
 * plus Mixer's istio_requests_total by reporter (its prometheus adapter) against the requests sent.
 *
 *   node tools/bench/run.mjs telemetry-cost [--rounds 3] [--duration 5] [--rate 1000]
 *     [--connections 16] [--settle 1] [--warmup 4] [--cpu-prof <dir>]
 *     [--mixer <main.js>] [--mixer-cpu-prof <dir>] [--mixer-b <main.js>] [--sidecar-b <bundle.js>]
 * --cpu-prof profiles the sidecars and the app, --mixer-cpu-prof the Mixer (written when it exits).
 * --mixer-b runs a second Mixer build (e.g. the committed one bundled aside) with a third sidecar
 * pair reporting to it: each round then has OFF, ON and ON-B (ON and ON-B in alternating order),
 * so the two Mixers' CPU per 1000 requests compare in the same window (Mixer B columns, B/A).
 * --sidecar-b runs that third pair's sidecars from another bundle of this file (e.g. one built by
 * esbuild from a git worktree of the commit to compare with, kept inside that worktree so its
 * packages resolve): ON-B then differs from ON in the sidecars' code (and, with --mixer-b, in the
 * Mixer too); without --mixer-b both pairs report to the one Mixer, so its counts cover both.
 * --onb-filter no-forward|no-report|no-send gives the ON-B pair (same build unless --sidecar-b) a mixer
 * filter with part of its work taken away (see variantFilter), so B − A is that part's cost.
 * --gc-log <file> appends each role process's main-thread GC pauses by kind (count, ms; V8's
 * kinds: 1 scavenge, 4 mark-sweep-compact, 8 incremental marking, 16 weak callbacks), what its
 * scavenges kept (`kept`: count, KB left in the young generation and KB promoted, summed over
 * them; v8.GCProfiler), its young generation's size at the end and its total CPU to <file> when
 * it stops.
 * --v8-flags "<flags>": the sidecars' V8 flags, applied at start as apps/proxy does (default
 * SIDECAR_V8_FLAGS, the sidecar as shipped: a fixed 1 MB young generation; "" for V8's defaults,
 * whose young generation grows per process to between 4 and 32 MB, which changes scavenges 5-10×).
 * --together runs the ON and ON-B loads at the same time (OFF still alone): both builds then see
 * the same contention from whatever else runs on the machine, so B − A is paired within one window
 * (each pair still gets --rate req/s; a shared Mixer's CPU is split by requests).
 * --paired runs the OFF and ON loads at the same time in every round (without ON-B modes): the
 * sidecars' Δ is then ON − OFF within one window, both pairs under the same contention, instead of
 * two windows seconds apart whose CPU per request drifts by more than Δ on a shared machine. The
 * machine carries twice --rate then (each pair gets --rate req/s); the Mixer serves only ON.
 * Build Mixer first: npx nx build mixer.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { GCProfiler, getHeapSpaceStatistics, type GCProfilerResult } from 'node:v8';
import autocannon from 'autocannon';
import { BODY, cpuMs, roleUpstream, startMixerProcess } from './roles';
import { addr, MIXER_CLUSTER, mixerFilter, staticCluster } from './sidecar-config';
import { silentLogger } from '@tsmesh/core';
import {
  applyV8Flags,
  parseBootstrap,
  ProxyRuntime,
  registerBuiltinFilters,
  SIDECAR_V8_FLAGS,
  type Msg,
} from '@tsmesh/dataplane';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const ROOT = process.cwd();
const HOST = 'bench-server.default.svc.cluster.local';
const UP_CLUSTER = `outbound|8080||${HOST}`;
const IN_CLUSTER = `inbound|8080||${HOST}`;

// ---------------------------------------------------------------------------------------------
// Roles (child processes of this file, `--role`)

async function roleProxy(): Promise<void> {
  applyV8Flags(process.env['BENCH_V8_FLAGS'] ?? '');
  const bootstrap = parseBootstrap(process.env['BENCH_BOOTSTRAP'] ?? '{}', 'BENCH_BOOTSTRAP');
  const rt = await ProxyRuntime.start({
    bootstrap,
    nodeType: 'sidecar',
    logger: silentLogger(),
    registerFilters: registerBuiltinFilters,
    drainMs: 10,
  });
  console.log(JSON.stringify({ port: Number(rt.addresses['l'].split(':').pop()) }));
}

// ---------------------------------------------------------------------------------------------
// Config (Envoy v3 JSON)

function sidecarBootstrap(
  node: string,
  direction: 'INBOUND' | 'OUTBOUND',
  route: string,
  clusters: Msg[],
  filters: Msg[],
): string {
  const hcm = {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: direction === 'INBOUND' ? 'inbound_127.0.0.1_8080' : 'outbound_0.0.0.0_8080',
      route_config: {
        name: 'r',
        virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: route } }] }],
      },
      http_filters: [
        ...filters,
        {
          name: 'envoy.filters.http.router',
          typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
        },
      ],
    },
  };
  return JSON.stringify({
    node: { id: `sidecar~127.0.0.1~${node}-0.default~default.svc.cluster.local`, cluster: node },
    static_resources: {
      listeners: [{ name: 'l', address: addr(0), traffic_direction: direction, filter_chains: [{ filters: [hcm] }] }],
      clusters,
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Proc {
  child: ChildProcess;
  port: number;
}

function spawnRole(args: string[], env: Record<string, string> = {}, script = process.argv[1]): Promise<Proc> {
  const prof = arg('cpu-prof', '');
  const gcLog = arg('gc-log', '') ? ['--gc-log', arg('gc-log', '')] : [];
  const child = spawn(
    process.execPath,
    [...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), script, ...args, ...gcLog],
    {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      env: { ...process.env, ...env },
    },
  );
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

/** The Mixer build under test (--mixer <main.js>, default dist/apps/mixer/main.js) and its --mixer-cpu-prof dir. */
const mixerMain = arg('mixer', join(ROOT, 'dist/apps/mixer/main.js'));
const mixerProf = arg('mixer-cpu-prof', '');
const mixerBMain = arg('mixer-b', '');
const sidecarB = arg('sidecar-b', '');
const together = process.argv.includes('--together');
/** The sidecars' V8 flags (--v8-flags; default the shipped SIDECAR_V8_FLAGS, "" for V8's defaults). */
const v8Flags = arg('v8-flags', SIDECAR_V8_FLAGS);
const pairedOff = process.argv.includes('--paired');
const onbFilter = arg('onb-filter', '');

/**
 * The ON-B pair's `mixer` filter with one part of its work taken away (--onb-filter), so B − A
 * is that part's cost: `no-forward` (no forward_attributes: no x-istio-attributes header on the
 * hop, nothing for the server to decode), `no-report` (the filter runs, copies the headers and
 * forwards attributes, but the service config disables reports: nothing is built or encoded),
 * `no-send` (Reports built and encoded as usual, but sent to a closed port, so each send fails at
 * once: no HTTP/2 upload, and the Mixer does no work for this pair).
 */
function variantFilter(f: Msg, variant: string): Msg {
  if (!variant) return f;
  const typed = { ...(f['typed_config'] as Msg) };
  if (variant === 'no-forward') delete typed['forward_attributes'];
  else if (variant === 'no-send')
    typed['transport'] = { ...(typed['transport'] as Msg), report_cluster: '127.0.0.1:1' };
  else if (variant === 'no-report') {
    const services = typed['service_configs'] as Record<string, Msg>;
    typed['service_configs'] = Object.fromEntries(
      Object.entries(services).map(([k, v]) => [k, { ...v, disable_report_calls: true }]),
    );
  } else throw new Error(`--onb-filter ${variant}: want no-forward, no-report or no-send`);
  return { ...f, typed_config: typed };
}

/** The Mixer build --mode telemetry on free ports; resolves with its listeners from the log. */
function startMixer(
  logFile: string,
  main = mixerMain,
): Promise<{ child: ChildProcess; addresses: Record<string, string> }> {
  return startMixerProcess({
    main,
    args: [
      '--mode',
      'telemetry',
      '--grpc-address',
      '127.0.0.1:0',
      '--prometheus-address',
      '127.0.0.1:0',
      '--monitoring-address',
      '',
    ],
    logFile,
    listeners: ['grpc', 'prometheus'],
    nodeArgs: mixerProf ? ['--cpu-prof', '--cpu-prof-dir', mixerProf] : [],
  });
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** istio_requests_total summed per reporter label from Mixer's prometheus adapter. */
async function requestsByReporter(prometheus: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await get(`http://${prometheus}/metrics`)).split('\n')) {
    if (!line.startsWith('istio_requests_total{')) continue;
    const reporter = /reporter="([^"]*)"/.exec(line)?.[1] ?? '?';
    out.set(reporter, (out.get(reporter) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Load

interface Paced {
  requests: number;
  ok: number;
}

async function paced(port: number, seconds: number, connections: number, rate: number, dir: string): Promise<Paced> {
  const url = `http://127.0.0.1:${port}/`;
  if (spawnSync('sh', ['-c', 'command -v h2load']).status === 0) {
    const log = join(dir, `h2load-${port}.log`);
    rmSync(log, { force: true }); // h2load appends
    // not spawnSync: with --together two loads run at once
    const h2load = spawn(
      'h2load',
      ['--h1', `-c${connections}`, `--rps=${rate / connections}`, `-D${seconds}`, `--log-file=${log}`, url],
      { stdio: 'ignore' },
    );
    await new Promise((resolve) => h2load.once('exit', resolve));
    const rows = readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => Number(l.split('\t')[1]));
    return { requests: rows.length, ok: rows.filter((s) => s === 200).length };
  }
  const r = await autocannon({ url, connections, duration: seconds, overallRate: rate });
  return { requests: r.requests.total, ok: r['2xx'] };
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const fmt = (x: number, d = 1) => (Number.isNaN(x) ? 'n/a' : x.toFixed(d));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const role = arg('role', '');
  if (role) {
    const gcLog = arg('gc-log', '');
    if (gcLog) {
      // main-thread GC pauses by kind over the process's life, appended as one line when it stops
      const gc: Record<string, { n: number; ms: number }> = {};
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          const kind = String((e as { detail?: { kind?: number } }).detail?.kind ?? '?');
          const k = (gc[kind] ??= { n: 0, ms: 0 });
          k.n++;
          k.ms += e.duration;
        }
      }).observe({ entryTypes: ['gc'] });
      // what each scavenge kept: left in the young generation and promoted to the old one (KB)
      const profiler = new GCProfiler();
      profiler.start();
      process.on('exit', () => {
        const u = process.cpuUsage();
        const used = (s: GCProfilerResult['statistics'][number]['afterGC'], space: string) =>
          (s.heapSpaceStatistics.find((x) => x.spaceName === space)?.spaceUsedSize ?? 0) / 1024;
        const scavenges = profiler.stop().statistics.filter((s) => s.gcType === 'Scavenge');
        const kept = { n: scavenges.length, youngKB: 0, promotedKB: 0 };
        for (const s of scavenges) {
          kept.youngKB += used(s.afterGC, 'new_space');
          kept.promotedKB += Math.max(0, used(s.afterGC, 'old_space') - used(s.beforeGC, 'old_space'));
        }
        const newSpaceKB = (getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0) / 1024;
        appendFileSync(
          gcLog,
          `${JSON.stringify({ name: arg('name', role), cpuMs: (u.user + u.system) / 1000, gc, kept, newSpaceKB })}\n`,
        );
      });
    }
    process.on('SIGINT', () => process.exit(0)); // so --cpu-prof writes its profile
    process.on('message', (m) => {
      if (m !== 'cpu') return;
      const u = process.cpuUsage();
      process.send?.({ cpu: u.user + u.system });
    });
    if (role === 'upstream') return roleUpstream();
    if (role === 'proxy') return roleProxy();
    throw new Error(`unknown role ${role}`);
  }

  const rounds = Number(arg('rounds', '3'));
  const seconds = Number(arg('duration', '5'));
  const rate = Number(arg('rate', '1000'));
  const connections = Number(arg('connections', '16'));
  const settleMs = Number(arg('settle', '1')) * 1000;
  const warmup = Number(arg('warmup', '4'));
  if (!existsSync(mixerMain)) throw new Error('build Mixer first: npx nx build mixer');
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tsmesh-telemetry-'));
  const startedAt = Date.now();
  const loadAtStart = loadavg();
  try {
    const upstream = await spawnRole(['--role', 'upstream']);
    children.push(upstream.child);
    const mixer = await startMixer(join(dir, 'mixer.log'));
    children.push(mixer.child);
    const mixerB = mixerBMain ? await startMixer(join(dir, 'mixer-b.log'), mixerBMain) : null;
    if (mixerB) children.push(mixerB.child);
    const clusterOf = (m: { addresses: Record<string, string> }) =>
      staticCluster(MIXER_CLUSTER, Number(m.addresses['grpc'].split(':').pop()), { http2_protocol_options: {} });
    // the sidecars' V8 heap flags: as apps/proxy applies them unless --v8-flags says otherwise
    const proxyEnv = { BENCH_V8_FLAGS: v8Flags };
    const pair = async (name: string, reportTo: Msg | null, script?: string, variant = '') => {
      const filters = (d: 'inbound' | 'outbound') => (reportTo ? [variantFilter(mixerFilter(d), variant)] : []);
      const extra = reportTo ? [reportTo] : [];
      const server = await spawnRole(
        ['--role', 'proxy', '--name', `${name}-server`],
        {
          ...proxyEnv,
          BENCH_BOOTSTRAP: sidecarBootstrap(
            'bench-server',
            'INBOUND',
            IN_CLUSTER,
            [staticCluster(IN_CLUSTER, upstream.port), ...extra],
            filters('inbound'),
          ),
        },
        script,
      );
      children.push(server.child);
      const client = await spawnRole(
        ['--role', 'proxy', '--name', `${name}-client`],
        {
          ...proxyEnv,
          BENCH_BOOTSTRAP: sidecarBootstrap(
            'bench-client',
            'OUTBOUND',
            UP_CLUSTER,
            [staticCluster(UP_CLUSTER, server.port), ...extra],
            filters('outbound'),
          ),
        },
        script,
      );
      children.push(client.child);
      return { port: client.port, procs: [client.child, server.child] };
    };
    const modes = {
      off: await pair('off', null),
      on: await pair('on', clusterOf(mixer)),
      ...(mixerB || sidecarB || onbFilter
        ? { onB: await pair('onb', clusterOf(mixerB ?? mixer), sidecarB || undefined, onbFilter) }
        : {}),
    };

    // Warm-up (JIT, pools, Mixer's adapters; --warmup s per mode), then the count baseline.
    for (const m of Object.values(modes)) await paced(m.port, warmup, connections, rate, dir);
    await sleep(settleMs);
    const countBefore = await requestsByReporter(mixer.addresses['prometheus']);
    const countBeforeB = mixerB ? await requestsByReporter(mixerB.addresses['prometheus']) : null;

    interface Round {
      off: number;
      on: number;
      mixer: number;
      mixerIdle: number;
      okOff: number;
      okOn: number;
      requestsOn: number;
      onB: number;
      mixerB: number;
    }
    const results: Round[] = [];
    /**
     * Pairs `a` and `b` loaded at the same time (each at --rate): each pair's sidecar CPU in ms per
     * second normalised to --rate, and the raw CPU ms of `others` (Mixers) over the same window.
     */
    const loadTogether = async (pa: (typeof modes)['on'], pb: (typeof modes)['on'], others: ChildProcess[]) => {
      const all = [...pa.procs, ...pb.procs, ...others];
      const before = await Promise.all(all.map(cpuMs));
      const [la, lb] = await Promise.all([
        paced(pa.port, seconds, connections, rate, dir),
        paced(pb.port, seconds, connections, rate, dir),
      ]);
      await sleep(settleMs);
      const after = await Promise.all(all.map(cpuMs));
      const used = after.map((x, i) => x - before[i]);
      const n = pa.procs.length;
      const sum = (from: number, to: number) => used.slice(from, to).reduce((x, y) => x + y, 0);
      return {
        la,
        lb,
        a: sum(0, n) * (rate / la.requests),
        b: sum(n, n + pb.procs.length) * (rate / lb.requests),
        others: used.slice(n + pb.procs.length),
      };
    };
    let sentOn = 0;
    let sentOnB = 0;
    for (let r = 0; r < rounds; r++) {
      const round: Partial<Round> = {};
      const order = !modes.onB
        ? (['off', 'on'] as const)
        : r % 2
          ? (['off', 'onB', 'on'] as const)
          : (['off', 'on', 'onB'] as const);
      if (together && modes.onB) {
        const { la, lb, a, b, others } = await loadTogether(
          modes.on,
          modes.onB,
          mixerB ? [mixer.child, mixerB.child] : [mixer.child],
        );
        round.on = a;
        round.onB = b;
        if (mixerB) {
          round.mixer = others[0] * (rate / la.requests);
          round.mixerB = others[1] * (rate / lb.requests);
        } else round.mixer = round.mixerB = others[0] * (rate / (la.requests + lb.requests));
        round.okOn = la.ok;
        round.requestsOn = la.requests;
        sentOn += la.requests;
        sentOnB += lb.requests;
      }
      if (pairedOff && !modes.onB) {
        const { la: lo, lb: ln, a, b, others } = await loadTogether(modes.off, modes.on, [mixer.child]);
        round.off = a;
        round.on = b;
        round.mixer = others[0] * (rate / ln.requests);
        round.mixerIdle = NaN;
        round.okOff = lo.ok;
        round.okOn = ln.ok;
        round.requestsOn = ln.requests;
        sentOn += ln.requests;
        results.push(round as Round);
        continue;
      }
      for (const mode of order) {
        if (together && mode !== 'off') continue;
        const m = modes[mode] as (typeof modes)['on'];
        const all = [...m.procs, mode === 'onB' && mixerB ? mixerB.child : mixer.child];
        const before = await Promise.all(all.map(cpuMs));
        const t0 = process.hrtime.bigint();
        const load = await paced(m.port, seconds, connections, rate, dir);
        await sleep(settleMs);
        const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
        const after = await Promise.all(all.map(cpuMs));
        const used = after.map((a, i) => a - before[i]);
        // CPU ms per second, normalised to exactly `rate` req/s: (ms used / requests) × rate.
        const perSec = (ms: number) => (ms / load.requests) * rate;
        round[mode] = perSec(used[0] + used[1]);
        if (mode === 'onB') {
          round.mixerB = perSec(used[2]);
          sentOnB += load.requests;
        } else if (mode === 'on') {
          round.mixer = perSec(used[2]);
          round.okOn = load.ok;
          round.requestsOn = load.requests;
          sentOn += load.requests;
        } else {
          round.mixerIdle = used[2] / wallS;
          round.okOff = load.ok;
        }
      }
      results.push(round as Round);
    }
    await sleep(settleMs);
    const countAfter = await requestsByReporter(mixer.addresses['prometheus']);
    const countAfterB = mixerB ? await requestsByReporter(mixerB.addresses['prometheus']) : null;
    const loadAtEnd = loadavg();

    const cost = (x: Round) => (x.on - x.off + x.mixer) / 1000;
    const out: string[] = [];
    const p = (line = '') => out.push(line);
    p(`\n## Telemetry cost — ${new Date(startedAt).toISOString()}`);
    p(
      `\n${rounds} ${pairedOff ? 'rounds of OFF and ON at the same time (--paired)' : 'interleaved rounds of OFF then ON'}, each ${seconds} s paced at ${rate} req/s over ${connections} keep-alive connections ` +
        `(${spawnSync('sh', ['-c', 'command -v h2load']).status === 0 ? 'h2load --h1 --rps' : 'autocannon overallRate'}), ${BODY.length}-byte body; ` +
        `CPU over the load window + ${settleMs / 1000} s settle, normalised to ${rate} req/s (ms used ÷ requests × ${rate}). ` +
        `Load average at start ${loadAtStart.map((x) => x.toFixed(2)).join(' / ')}, at end ${loadAtEnd.map((x) => x.toFixed(2)).join(' / ')} (2 cores, shared). ` +
        `Sidecar V8 flags: ${v8Flags === SIDECAR_V8_FLAGS ? `${v8Flags} (as shipped)` : v8Flags || "V8's defaults"}.`,
    );
    p(
      `\n| round | sidecars OFF ms/s | sidecars ON ms/s | sidecars Δ ms/s | Mixer ms/s (ON) | Mixer idle ms/s (OFF window) | total vCPU per 1000 rps | 200s OFF / ON |`,
    );
    p('| --- | --- | --- | --- | --- | --- | --- | --- |');
    results.forEach((x, i) =>
      p(
        `| ${i + 1} | ${fmt(x.off)} | ${fmt(x.on)} | ${fmt(x.on - x.off)} | ${fmt(x.mixer)} | ${fmt(x.mixerIdle)} | ${fmt(cost(x), 4)} | ${x.okOff} / ${x.okOn} of ${x.requestsOn} |`,
      ),
    );
    const med = (f: (x: Round) => number) => median(results.map(f));
    p(
      `| median | ${fmt(med((x) => x.off))} | ${fmt(med((x) => x.on))} | ${fmt(med((x) => x.on - x.off))} | ${fmt(med((x) => x.mixer))} | ${fmt(med((x) => x.mixerIdle))} | ${fmt(med(cost), 4)} | |`,
    );
    p(
      `\nTotal telemetry cost = (sidecars ON − sidecars OFF) + Mixer: median ${fmt(med(cost), 4)} vCPU per 1000 req/s ` +
        `(sidecars ${fmt(med((x) => x.on - x.off) / 1000, 4)}, Mixer ${fmt(med((x) => x.mixer) / 1000, 4)}); target ≤ 0.05.`,
    );
    const reporters = [...new Set([...countBefore.keys(), ...countAfter.keys()])].sort();
    p(
      `\nMixer's istio_requests_total (prometheus adapter) over the measured rounds, per reporter: ` +
        (reporters.length
          ? reporters.map((k) => `${k} +${(countAfter.get(k) ?? 0) - (countBefore.get(k) ?? 0)}`).join(', ')
          : 'none') +
        `; requests sent on the ON path: ${sentOn}${mixerB || !modes.onB || onbFilter === 'no-report' || onbFilter === 'no-send' ? '' : ` + ${sentOnB} on ON-B (same Mixer) = ${sentOn + sentOnB}`}` +
        ` (each should be counted once by reporter="source" and once by "destination").`,
    );
    if (sidecarB || onbFilter) {
      // The sidecars' Δ of each build from the same round's OFF, and B − A paired per round.
      const b = [sidecarB || 'this bundle', onbFilter ? `with --onb-filter ${onbFilter}` : ''].join(' ');
      p(`\nSidecars B (${b}) against the sidecars of this bundle, same rounds (ON and ON-B alternating in order):`);
      p('\n| round | Δ ON ms/s | Δ ON-B ms/s | B − A ms/s |');
      p('| --- | --- | --- | --- |');
      results.forEach((x, i) =>
        p(`| ${i + 1} | ${fmt(x.on - x.off)} | ${fmt(x.onB - x.off)} | ${fmt(x.onB - x.on)} |`),
      );
      p(
        `| median | ${fmt(med((x) => x.on - x.off))} | ${fmt(med((x) => x.onB - x.off))} | ${fmt(med((x) => x.onB - x.on))} |`,
      );
      // a round is noisy (tens of ms/s on the shared machine): how often B − A has each sign
      // says more than one median
      const diffs = results.map((x) => x.onB - x.on).sort((u, v) => u - v);
      const at = (q: number) => diffs[Math.min(diffs.length - 1, Math.floor(q * diffs.length))];
      p(
        `
B − A: positive in ${diffs.filter((d) => d > 0).length} of ${diffs.length} rounds; ` +
          `quartiles ${fmt(at(0.25))} / ${fmt(at(0.5))} / ${fmt(at(0.75))} ms/s.`,
      );
    }
    if (mixerB && countBeforeB && countAfterB) {
      const costB = (x: Round) => (x.onB - x.off + x.mixerB) / 1000;
      p(`\nMixer B (${mixerBMain}) against Mixer (${mixerMain}), same rounds (ON and ON-B alternating in order):`);
      p('\n| round | sidecars ON-B ms/s | Mixer ms/s | Mixer B ms/s | Mixer B / Mixer | total | total B |');
      p('| --- | --- | --- | --- | --- | --- | --- |');
      results.forEach((x, i) =>
        p(
          `| ${i + 1} | ${fmt(x.onB)} | ${fmt(x.mixer)} | ${fmt(x.mixerB)} | ${fmt(x.mixerB / x.mixer, 2)} | ${fmt(cost(x), 4)} | ${fmt(costB(x), 4)} |`,
        ),
      );
      p(
        `| median | ${fmt(med((x) => x.onB))} | ${fmt(med((x) => x.mixer))} | ${fmt(med((x) => x.mixerB))} | ${fmt(
          med((x) => x.mixerB / x.mixer),
          2,
        )} | ${fmt(med(cost), 4)} | ${fmt(med(costB), 4)} |`,
      );
      const keys = [...new Set([...countBeforeB.keys(), ...countAfterB.keys()])].sort();
      p(
        `\nMixer B's istio_requests_total per reporter: ` +
          (keys.length
            ? keys.map((k) => `${k} +${(countAfterB.get(k) ?? 0) - (countBeforeB.get(k) ?? 0)}`).join(', ')
            : 'none') +
          '.',
      );
    }
    p(`\nTotal run time ${Math.round((Date.now() - startedAt) / 1000)} s.`);
    console.log(out.join('\n'));
  } finally {
    for (const c of children) c.kill('SIGINT');
    await sleep(1000);
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e: Error) => {
  console.error(e);
  process.exit(1);
});
