/**
 * Mixer benchmark (not a test), against the built Mixer (`dist/apps/mixer/main.js`,
 * build it first) over real gRPC on loopback:
 *  - the proxy's mixer filter: check off vs cache hit vs forced miss (µs per request,
 *    measured side by side), and the hit ratio of a steady-state mix;
 *  - Mixer Check throughput per CPU-second of the Mixer process;
 *  - Report ingestion (batches of 1,000) per CPU-second of the Mixer process: a small 7-attribute
 *    bag, and batches as a sidecar sends them (its ReportEncoder over ~40-attribute bags). This
 *    Mixer runs without the default access log; telemetry-cost runs Mixer with it (its JSON line per
 *    entry is most of Mixer's Report cost there).
 *
 *   node tools/bench/run.mjs mixer [--requests 20000] [--seconds 5] [--mixer <main.js>] [--baseline <old mixer main.js>]
 *   node tools/bench/run.mjs mixer --in-process [--rounds 20] [--batches 20] [--metrics-out <file>] > <log file>
 *   node tools/bench/run.mjs mixer --paced [--rounds 6] [--seconds 5] [--mixer <main.js>] [--baseline <main.js>]
 *     [--together] [--mixer-cpu-prof <dir>] [--mixer-node-args "<node flags>"] [--baseline-node-args "<node flags>"]
 *     [--keep-logs <dir>]
 *
 * --in-process: the Mixer's Report path alone, in this process, from the sources (no gRPC, no
 * child process): sidecar-like ReportRequest bytes (two sidecars' batches of 1,000 entries, source
 * and destination reporter, ~40 attributes, ReportEncoder) → decodeReportRequest → Runtime.report
 * with the built-in 1.0 config and its access log (JSON lines on stdout: redirect it). Prints CPU µs
 * per entry per round (min and median) on stderr; request.time/response.time are fixed per entry, so
 * stdout and --metrics-out (the prometheus exposition text) are the same bytes for the same code and
 * can be compared between two builds of this harness (e.g. one bundled in a worktree of HEAD).
 *
 * With --baseline (an older build kept aside, e.g. tmp/mixer-old/main.js) a second Mixer
 * runs from it and the forced misses, bare Checks and server cases are timed against both
 * in the same loop, so the rows compare side by side.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  decodeReportRequest,
  encodeBag,
  encodeReport,
  GLOBAL_WORDS,
  MutableBag,
  ReportEncoder,
} from '@tsmesh/attributes';
import { mixerServiceDefinition } from '@tsmesh/protocol';
import { startMixerProcess } from './roles';
import { createRegistry, silentLogger, systemClock, type FieldError } from '@tsmesh/core';
// The filter and its test stream helpers are not (yet) exported from @tsmesh/dataplane's index,
// which another engineer owns; the benchmark reaches into the source tree directly.
/* eslint-disable @nx/enforce-module-boundaries */
import { mixerFilterWith } from '../../libs/dataplane/src/filters/http/mixer';
import {
  addResponseAttributes,
  encodeForwarded,
  FORWARD_HEADER,
  requestBag,
} from '../../libs/dataplane/src/filters/http/mixer/request-attributes';
import { factoryContext, fakeStream } from '../../libs/dataplane/src/filters/http/jwt_authn/testing';
import { registerBuiltinAdapters } from '../../apps/mixer/src/adapters/registry';
import { BUILTIN_CONFIG_YAML } from '../../apps/mixer/src/config/builtin';
import { BUILTIN_ACCESS_LOG_YAML } from '../../apps/mixer/src/config/builtin-accesslog';
import { parseConfigText } from '../../apps/mixer/src/config/loader';
import { Runtime } from '../../apps/mixer/src/runtime/runtime';
/* eslint-enable @nx/enforce-module-boundaries */

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const REQUESTS = arg('requests', 20000);
const SECONDS = arg('seconds', 5);
const pathArg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const BASELINE = pathArg('baseline', '');
/** The Mixer under test (another build can run alone with --mixer <main.js>). */
const MIXER = pathArg('mixer', 'dist/apps/mixer/main.js');

const POLICY = `
apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: { name: denyreviewsv3handler, namespace: istio-system }
spec: { status: { code: 7, message: Not allowed } }
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: { name: denyreviewsv3request, namespace: istio-system }
spec: {}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: denyreviewsv3, namespace: istio-system }
spec:
  match: destination.labels["app"] == "ratings" && source.labels["version"] == "v3"
  actions:
  - handler: denyreviewsv3handler.denier
    instances: [ denyreviewsv3request.checknothing ]
`;

/**
 * --paced: the built Mixer as telemetry-cost runs it (`--mode telemetry`, built-in config with the
 * access log, stdout to a file), fed as two sidecars at 1000 req/s feed it: every second one
 * ReportRequest of 1,000 entries from each (source and destination reporter, the bytes of
 * sidecarReport, 8 different batches each), nothing else running. CPU per entry from /proc over
 * each window (+1 s settle), split into the main thread and the others (V8's GC and compiler
 * threads, libuv). With --baseline, the two Mixers take turns window by window; with --together as
 * well, both are fed in the same windows (the same batches at the same moments), so each round
 * compares them under the same contention from whatever else runs on the machine.
 * --mixer-node-args / --baseline-node-args: node flags for that Mixer's command line (flags V8
 * reads once at heap set-up, e.g. --no-memory-reducer, can only come from there); the baseline
 * may be the same main.js, so a flag's effect is an A/B in one run.
 * After the table: each Mixer's RSS (and peak) at the end.
 * --keep-logs <dir>: each Mixer's stdout (access log, and whatever V8 tracing flags print) goes to
 * <dir>/<name>.log and is kept.
 */
async function paced(): Promise<void> {
  const rounds = arg('rounds', 6);
  const seconds = arg('seconds', 5);
  const keep = pathArg('keep-logs', '');
  const dir = keep || mkdtempSync(join(tmpdir(), 'mixer-paced-'));
  const start = async (main: string, name: string) => {
    const prof = pathArg('mixer-cpu-prof', '');
    const flags = pathArg(`${name}-node-args`, '').split(/\s+/).filter(Boolean);
    const { child, addresses } = await startMixerProcess({
      main,
      args: ['--mode=telemetry', '--grpc-address=127.0.0.1:0', '--prometheus-address=', '--monitoring-address='],
      logFile: join(dir, `${name}.log`),
      listeners: ['grpc'],
      nodeArgs: [...flags, ...(prof ? ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${prof}`] : [])],
    });
    return {
      name,
      main: flags.length ? `${main} ${flags.join(' ')}` : main,
      child,
      client: plainClient(addresses['grpc']),
    };
  };
  const threads = (pid: number) => {
    let main = 0;
    let other = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const ms = cpuMs(Number(t), `/proc/${pid}/task/${t}/stat`);
      if (Number(t) === pid) main += ms;
      else other += ms;
    }
    return { main, other };
  };
  const t0 = Date.UTC(2026, 10, 23, 12, 0, 0);
  const batches = Array.from({ length: 8 }, (_, k) => [
    sidecarReport(1000, 'outbound', t0 + k * 1000),
    sidecarReport(1000, 'inbound', t0 + k * 1000 + 7),
  ]);
  const together = process.argv.includes('--together');
  const mixers = [await start(MIXER, 'mixer')];
  if (BASELINE) mixers.push(await start(BASELINE, 'baseline'));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** The batch the next window starts with. */
  let k = 0;
  /** `s` seconds of batches, from batch `from` on. */
  const feed = async (m: (typeof mixers)[0], s: number, from: number) => {
    for (let i = 0; i < s; i++) {
      const tick = Date.now();
      await Promise.all(batches[(from + i) % batches.length].map((b) => m.client.call('Report', b)));
      await sleep(Math.max(0, 1000 - (Date.now() - tick)));
    }
  };
  try {
    for (const m of mixers) await feed(m, 3, 0); // warm-up
    const rows: Array<Record<string, number>> = [];
    for (let r = 0; r < rounds; r++) {
      const row: Record<string, number> = {};
      // each group of Mixers is measured over one window: all of them with --together, else one at a time
      const order = r % 2 ? [...mixers].reverse() : mixers;
      for (const group of together ? [order] : order.map((m) => [m])) {
        const a = group.map((m) => threads(m.child.pid as number));
        await Promise.all(group.map((m) => feed(m, seconds, k)));
        k += seconds;
        await sleep(1000);
        const entries = seconds * 2000;
        group.forEach((m, i) => {
          const b = threads(m.child.pid as number);
          row[`${m.name}.main`] = ((b.main - a[i].main) * 1000) / entries;
          row[`${m.name}.other`] = ((b.other - a[i].other) * 1000) / entries;
        });
      }
      rows.push(row);
    }
    const load = loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ');
    console.log(
      `\n## Mixer paced Report (${rounds} rounds × ${seconds} s, 2 × 1,000 entries per second, access log on; load ${load})\n`,
    );
    const cols = mixers.flatMap((m) => [`${m.name}.main`, `${m.name}.other`]);
    console.log(`| round | ${mixers.map((m) => `${m.name} µs/entry (main + other threads)`).join(' | ')} |`);
    console.log(`| --- | ${mixers.map(() => '---').join(' | ')} |`);
    const cell = (row: Record<string, number>, n: string) =>
      `${(row[`${n}.main`] + row[`${n}.other`]).toFixed(1)} (${row[`${n}.main`].toFixed(1)} + ${row[`${n}.other`].toFixed(1)})`;
    rows.forEach((row, i) => console.log(`| ${i + 1} | ${mixers.map((m) => cell(row, m.name)).join(' | ')} |`));
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const medRow = Object.fromEntries(cols.map((c) => [c, med(rows.map((x) => x[c]))]));
    console.log(`| median | ${mixers.map((m) => cell(medRow, m.name)).join(' | ')} |`);
    const rss = (pid: number) => {
      const st = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? NaN);
      return `RSS ${(kb('VmRSS') / 1024).toFixed(1)} MB (peak ${(kb('VmHWM') / 1024).toFixed(1)} MB)`;
    };
    console.log(`\n${mixers.map((m) => `${m.name}: ${rss(m.child.pid as number)}`).join('; ')}`);
    if (BASELINE)
      console.log(
        `\nmixer / baseline per round: ${rows.map((x) => ((x['mixer.main'] + x['mixer.other']) / (x['baseline.main'] + x['baseline.other'])).toFixed(2)).join(' ')} (${mixers[0].main} vs ${mixers[1].main})`,
      );
  } finally {
    for (const m of mixers) {
      m.client.close();
      m.child.kill('SIGTERM');
    }
    await sleep(500);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

function cpuMs(pid: number, file = `/proc/${pid}/stat`): number {
  const f = readFileSync(file, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime+stime in clock ticks (100 Hz)
}

async function startMixer(dir: string, main = MIXER) {
  const child = spawn(
    process.execPath,
    [
      main,
      '--grpc-address=127.0.0.1:0',
      '--prometheus-address=127.0.0.1:0',
      '--monitoring-address=',
      `--config-dir=${dir}`,
      // metrics only: the default access log would print one stdout line per reported request
      '--no-builtin-access-log',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const address = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /"listener":"grpc","address":"([^"]+)"/.exec(buf);
      if (m) resolve(m[1]);
    });
    child.once('exit', (c) => reject(new Error(`mixer exited ${c}`)));
  });
  return { child, address };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function plainClient(address: string) {
  const Ctor = grpc.makeGenericClientConstructor(mixerServiceDefinition(), 'Mixer');
  const client = new Ctor(address, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (r: unknown, cb: (e: Error | null) => void) => void
  >;
  const path = (m: string) => (mixerServiceDefinition() as Record<string, { path: string }>)[m].path;
  const call = (m: string, req: unknown) =>
    Buffer.isBuffer(req)
      ? // bytes as the proxy sends them (ReportEncoder)
        new Promise<void>((res, rej) =>
          (client as unknown as grpc.Client).makeUnaryRequest(
            path(m),
            (b: Buffer) => b,
            () => undefined,
            req,
            (e) => (e ? rej(e) : res()),
          ),
        )
      : new Promise<void>((res, rej) => client[m](req, (e) => (e ? rej(e) : res())));
  return { call, close: () => (client as unknown as grpc.Client).close() };
}

const SMALL_CHECK = () => ({
  attributes: encodeBag(
    MutableBag.from({
      'destination.labels': { app: 'ratings' },
      'source.labels': { app: 'reviews', version: 'v2' },
      'request.path': '/ratings/0',
      'request.headers': { ':authority': 'ratings:9080', 'user-agent': 'bench' },
    }),
  ),
  global_word_count: GLOBAL_WORDS.length,
});

async function filterBench(address: string, baseline: string | null) {
  const make = (disableCache: boolean, disableCheck: boolean, mixer = address) => {
    const f = mixerFilterWith({});
    const errors: FieldError[] = [];
    const cfg = f.parseConfig(
      {
        transport: {
          check_cluster: mixer,
          network_fail_policy: { policy: 'FAIL_CLOSE' },
          disable_check_cache: disableCache,
        },
        mixer_attributes: {
          attributes: {
            'context.reporter.kind': { string_value: 'inbound' },
            'destination.labels': { string_map_value: { entries: { app: 'ratings' } } },
          },
        },
        service_configs: { svc: { disable_check_calls: disableCheck } },
        default_destination_service: 'svc',
      },
      'typed_config',
      errors,
    );
    const ctx = factoryContext('mixer');
    return { run: f.create(cfg, ctx), stats: ctx.stats, close: () => f.handle.close() };
  };
  const fwd = Array.from({ length: 50 }, (_, i) =>
    encodeForwarded({ 'source.labels': { app: 'reviews', version: `v${i}` } }),
  );
  const once = async (run: ReturnType<typeof make>['run'], i: number) => {
    const s = fakeStream({
      path: `/ratings/${i % 1000}`,
      headers: { [FORWARD_HEADER]: fwd[i % 50], 'x-request-id': String(i) },
    });
    const t = process.hrtime.bigint();
    await run().onRequest?.(s);
    return Number(process.hrtime.bigint() - t) / 1000;
  };
  const off = make(false, true);
  const hit = make(false, false);
  const miss = make(true, false);
  const missB = baseline ? make(true, false, baseline) : null;
  const plainB = baseline ? plainClient(baseline) : null;
  // Bare Check round trips timed in the same loop as the misses (same phase, same load), once with
  // a small bag and once with the very request the filter sends for such a stream.
  const plain = plainClient(address);
  const small = SMALL_CHECK();
  const sample = fakeStream({ path: '/ratings/1', headers: { [FORWARD_HEADER]: fwd[1], 'x-request-id': '1' } });
  const full = {
    attributes: encodeBag(
      requestBag(
        sample,
        [{ 'context.reporter.kind': 'inbound', 'destination.labels': { app: 'ratings' } }],
        Date.now(),
      ),
    ),
    global_word_count: GLOBAL_WORDS.length,
    deduplication_id: 'bench-1',
  };
  const bare = async (req: unknown, client = plain) => {
    const t = process.hrtime.bigint();
    await client.call('Check', req);
    return Number(process.hrtime.bigint() - t) / 1000;
  };
  // warm up (JIT, connections, cache)
  for (let i = 0; i < 2000; i++) {
    await once(off.run, i);
    await once(hit.run, i);
    if (i < 500) {
      await once(miss.run, i);
      await bare(small);
      await bare(full);
      if (missB && plainB) {
        await once(missB.run, i);
        await bare(full, plainB);
      }
    }
  }
  const tMissB: number[] = [];
  const tBareFullB: number[] = [];
  const tOff: number[] = [];
  const tHit: number[] = [];
  const tMiss: number[] = [];
  const tBareSmall: number[] = [];
  const tBareFull: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    tOff.push(await once(off.run, i));
    tHit.push(await once(hit.run, i % 50));
    if (i % 4 === 0) {
      tMiss.push(await once(miss.run, i));
      tBareSmall.push(await bare(small));
      tBareFull.push(await bare(full));
      if (missB && plainB) {
        tMissB.push(await once(missB.run, i));
        tBareFullB.push(await bare(full, plainB));
      }
    }
  }
  plain.close();
  plainB?.close();
  await missB?.close();
  // steady-state mix: 50 calling workloads, 1000 paths, cache starts cold
  const mix = make(false, false);
  for (let i = 0; i < REQUESTS; i++) await once(mix.run, Math.floor(Math.random() * REQUESTS));
  const hits = mix.stats.value('http_mixer_filter.total_check_cache_hits');
  const calls = mix.stats.value('http_mixer_filter.total_check_calls');
  for (const x of [off, hit, miss, mix]) await x.close();
  return { tOff, tHit, tMiss, tBareSmall, tBareFull, tMissB, tBareFullB, hitRatio: hits / calls };
}

async function serverBench(address: string, pid: number) {
  const { call, close } = plainClient(address);
  const checkReq = SMALL_CHECK();
  const reportBag = MutableBag.from({
    'context.protocol': 'http',
    'destination.service.host': 'reviews.default.svc.cluster.local',
    'source.workload.name': 'productpage-v1',
    'response.code': 200,
    'response.duration': 12,
    'request.size': 120,
    'response.size': 3000,
  });
  const batch = encodeReport(
    Array.from({ length: 1000 }, (_, i) => new MutableBag(reportBag).set('response.duration', i % 50)),
  )[0];
  // What a sidecar really sends: 1,000 requests' bags as the mixer filter builds them (request and
  // response headers, static config attributes, ~40 attributes) through its ReportEncoder
  const encoder = new ReportEncoder();
  const statics = {
    'context.reporter.kind': 'inbound',
    'context.reporter.uid': 'kubernetes://bench-server-0.default',
    'destination.uid': 'kubernetes://bench-server-0.default',
    'destination.namespace': 'default',
    'destination.labels': { app: 'bench-server', version: 'v1' },
    'destination.service.host': 'bench-server.default.svc.cluster.local',
    'destination.service.name': 'bench-server',
    'destination.service.namespace': 'default',
    'destination.service.uid': 'istio://default/services/bench-server',
  };
  for (let i = 0; i < 1000; i++) {
    const st = fakeStream({
      path: '/',
      headers: { 'user-agent': 'h2load nghttp2/1.59.0', accept: '*/*', 'x-request-id': `req-${i}-${Date.now()}` },
    });
    const bag = requestBag(st, [statics], Date.now());
    Object.assign(st.info, {
      responseCode: 200,
      duration: 1 + (i % 7),
      bytesReceived: 0,
      bytesSent: 12,
      responseHeaders: { 'content-type': 'text/plain', 'content-length': '12', date: new Date().toUTCString() },
      upstreamCluster: 'inbound|8080||bench-server.default.svc.cluster.local',
    });
    encoder.add(addResponseAttributes(bag, st.info, Date.now()));
  }
  const realistic = encoder.finish()[0].bytes;
  const run = async (m: string, req: unknown, inflight: number) => {
    const c0 = cpuMs(pid);
    const t0 = Date.now();
    let n = 0;
    const worker = async () => {
      while (Date.now() - t0 < SECONDS * 1000) {
        await call(m, req);
        n++;
      }
    };
    await Promise.all(Array.from({ length: inflight }, worker));
    return { n, wallS: (Date.now() - t0) / 1000, cpuS: (cpuMs(pid) - c0) / 1000 };
  };
  await run('Check', checkReq, 32); // warm up
  // one call at a time: the bare loopback round trip the filter's miss path pays
  const rtt: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t = process.hrtime.bigint();
    await call('Check', checkReq);
    rtt.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  const check = await run('Check', checkReq, 64);
  const report = await run('Report', batch, 4);
  const reportRealistic = await run('Report', realistic, 4);
  close();
  return { check, report, reportRealistic, rtt };
}

/**
 * One sidecar's ReportRequest of `n` entries as its ReportEncoder writes it; `reporter` picks the
 * client sidecar (outbound, reporter="source") or the server one (inbound, "destination"). Times
 * come from `t0` (fixed), so the bytes are the same in every run.
 */
function sidecarReport(n: number, reporter: 'inbound' | 'outbound', t0: number): Buffer {
  const encoder = new ReportEncoder();
  const statics = {
    'context.reporter.kind': reporter,
    'context.reporter.uid': `kubernetes://bench-${reporter === 'inbound' ? 'server' : 'client'}-0.default`,
    'source.uid': 'kubernetes://bench-client-0.default',
    'source.namespace': 'default',
    'source.labels': { app: 'bench-client', version: 'v1' },
    'source.workload.name': 'bench-client',
    'destination.uid': 'kubernetes://bench-server-0.default',
    'destination.namespace': 'default',
    'destination.labels': { app: 'bench-server', version: 'v1' },
    'destination.workload.name': 'bench-server',
    'destination.service.host': 'bench-server.default.svc.cluster.local',
    'destination.service.name': 'bench-server',
    'destination.service.namespace': 'default',
    'destination.service.uid': 'istio://default/services/bench-server',
  };
  for (let i = 0; i < n; i++) {
    const now = t0 + i * 1.3;
    const st = fakeStream({
      path: i % 10 === 0 ? '/health' : '/',
      headers: { 'user-agent': 'h2load nghttp2/1.59.0', accept: '*/*', 'x-request-id': `req-${reporter}-${i}` },
    });
    const bag = requestBag(st, [statics], now);
    Object.assign(st.info, {
      responseCode: i % 50 === 0 ? 503 : 200,
      duration: 1 + (i % 7),
      bytesReceived: 0,
      bytesSent: 12,
      responseHeaders: { 'content-type': 'text/plain', 'content-length': '12', date: new Date(t0).toUTCString() },
      upstreamCluster: `${reporter}|8080||bench-server.default.svc.cluster.local`,
    });
    encoder.add(addResponseAttributes(bag, st.info, now + 1 + (i % 7)));
  }
  return Buffer.from(encoder.finish()[0].bytes);
}

async function inProcess(): Promise<void> {
  const rounds = arg('rounds', 20);
  const batches = arg('batches', 20);
  const metricsOut = pathArg('metrics-out', '');
  const promRegistry = createRegistry(false);
  const runtime = new Runtime({
    adapters: registerBuiltinAdapters(),
    clock: systemClock,
    logger: silentLogger(),
    selfRegistry: createRegistry(false),
    promRegistry,
    quotaBackendUnavailable: 'grant',
    defaultNamespace: 'istio-system',
    defaultValidDurationMs: 60_000,
    defaultValidUseCount: 10_000,
  });
  const issues = await runtime.apply([
    ...parseConfigText(BUILTIN_CONFIG_YAML, '<builtin>', 'istio-system').objects,
    ...parseConfigText(BUILTIN_ACCESS_LOG_YAML, '<builtin-accesslog>', 'istio-system').objects,
  ]);
  if (issues.length > 0) throw new Error(JSON.stringify(issues));
  const t0 = Date.UTC(2026, 10, 23, 12, 0, 0);
  const reqs = [sidecarReport(1000, 'outbound', t0), sidecarReport(1000, 'inbound', t0 + 7)];
  const perEntry: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let entries = 0;
    const c0 = process.cpuUsage();
    for (let b = 0; b < batches; b++) {
      const bags = decodeReportRequest(reqs[b % reqs.length]);
      entries += bags.length;
      await runtime.report(bags);
    }
    const c = process.cpuUsage(c0);
    perEntry.push((c.user + c.system) / entries);
  }
  const sorted = [...perEntry].sort((a, b) => a - b);
  console.error(
    `in-process Report: ${rounds} rounds × ${batches} batches of 1000, CPU µs per entry: min ${sorted[0].toFixed(2)}` +
      ` median ${sorted[sorted.length >> 1].toFixed(2)} (rounds: ${perEntry.map((x) => x.toFixed(1)).join(' ')})`,
  );
  if (metricsOut) writeFileSync(metricsOut, await promRegistry.metrics());
  await runtime.close();
}

async function main() {
  if (process.argv.includes('--in-process')) return inProcess();
  if (process.argv.includes('--paced')) return paced();
  const dir = mkdtempSync(join(tmpdir(), 'mixer-bench-'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  const { child, address } = await startMixer(dir);
  const base = BASELINE ? await startMixer(dir, BASELINE) : null;
  try {
    const f = await filterBench(address, base?.address ?? null);
    const s = await serverBench(address, child.pid as number);
    const sB = base ? await serverBench(base.address, base.child.pid as number) : null;
    const p50 = (xs: number[]) => percentile(xs, 50).toFixed(1);
    const p99 = (xs: number[]) => percentile(xs, 99).toFixed(1);
    const addedHit = percentile(f.tHit, 50) - percentile(f.tOff, 50);
    const addedMiss = percentile(f.tMiss, 50) - percentile(f.tOff, 50);
    console.log(`\n## Mixer (${REQUESTS} filter requests per case, ${SECONDS}s per server case, one run)\n`);
    console.log('| case | p50 µs | p99 µs | added p50 vs check off | target |');
    console.log('| --- | --- | --- | --- | --- |');
    console.log(`| filter, check off | ${p50(f.tOff)} | ${p99(f.tOff)} | – | – |`);
    console.log(`| filter, cache hit | ${p50(f.tHit)} | ${p99(f.tHit)} | ${addedHit.toFixed(1)} µs | ≤ 20 µs |`);
    console.log(
      `| filter, forced miss (loopback Check) | ${p50(f.tMiss)} | ${p99(f.tMiss)} | ${(addedMiss / 1000).toFixed(3)} ms | ≤ 0.5 ms |`,
    );
    console.log(
      `| bare gRPC Check, small bag, timed beside the misses | ${p50(f.tBareSmall)} | ${p99(f.tBareSmall)} | – | – |`,
    );
    console.log(
      `| bare gRPC Check, the filter's own request, timed beside the misses | ${p50(f.tBareFull)} | ${p99(f.tBareFull)} | – | – |`,
    );
    console.log(
      `| filter miss minus bare Check (same request, p50s) | – | – | ${((percentile(f.tMiss, 50) - percentile(f.tBareFull, 50)) / 1000).toFixed(3)} ms | – |`,
    );
    console.log(
      `| bare gRPC Check, small bag, tight loop after the load phase (older row) | ${p50(s.rtt)} | ${p99(s.rtt)} | – | – |`,
    );
    if (sB) {
      const addedMissB = percentile(f.tMissB, 50) - percentile(f.tOff, 50);
      console.log(
        `| baseline Mixer (${BASELINE}): filter, forced miss | ${p50(f.tMissB)} | ${p99(f.tMissB)} | ${(addedMissB / 1000).toFixed(3)} ms | – |`,
      );
      console.log(
        `| baseline Mixer: bare gRPC Check, the filter's own request | ${p50(f.tBareFullB)} | ${p99(f.tBareFullB)} | – | – |`,
      );
    }
    console.log('');
    console.log('| measure | value | target |');
    console.log('| --- | --- | --- |');
    console.log(
      `| check cache hit ratio, steady mix (50 callers × 1000 paths) | ${(f.hitRatio * 100).toFixed(2)} % | ≥ 95 % |`,
    );
    console.log(
      `| Mixer Check throughput | ${(s.check.n / s.check.wallS).toFixed(0)}/s wall, ${(s.check.n / s.check.cpuS).toFixed(0)} per Mixer CPU-second | ≥ 5,000/s per core |`,
    );
    console.log(
      `| Mixer Report ingestion (batches of 1000) | ${((s.report.n * 1000) / s.report.wallS).toFixed(0)} req/s wall, ${((s.report.n * 1000) / s.report.cpuS).toFixed(0)} per Mixer CPU-second | ≥ 20,000/s per core |`,
    );
    console.log(
      `| Mixer Report ingestion, sidecar-like batches of 1000 (~40 attributes, ReportEncoder bytes) | ${((s.reportRealistic.n * 1000) / s.reportRealistic.wallS).toFixed(0)} req/s wall, ${((s.reportRealistic.n * 1000) / s.reportRealistic.cpuS).toFixed(0)} per Mixer CPU-second | – |`,
    );
    if (sB) {
      console.log(
        `| baseline Mixer Check throughput | ${(sB.check.n / sB.check.wallS).toFixed(0)}/s wall, ${(sB.check.n / sB.check.cpuS).toFixed(0)} per Mixer CPU-second | – |`,
      );
      console.log(
        `| baseline Mixer Report ingestion (batches of 1000) | ${((sB.report.n * 1000) / sB.report.wallS).toFixed(0)} req/s wall, ${((sB.report.n * 1000) / sB.report.cpuS).toFixed(0)} per Mixer CPU-second | – |`,
      );
    }
  } finally {
    base?.child.kill('SIGTERM');
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
