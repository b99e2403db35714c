/**
 * Mixer benchmark (not a test), against the built Mixer (`dist/apps/mixer/main.js`,
 * build it first) over real gRPC on loopback:
 *  - the proxy's mixer filter: check off vs cache hit vs forced miss (µs per request,
 *    measured side by side), and the hit ratio of a steady-state mix;
 *  - Mixer Check throughput per CPU-second of the Mixer process;
 *  - Report ingestion (batches of 1,000) per CPU-second of the Mixer process.
 *
 *   node tools/bench/run.mjs mixer [--requests 20000] [--seconds 5] [--mixer <main.js>] [--baseline <old mixer main.js>]
 *
 * With --baseline (an older build kept aside, e.g. tmp/mixer-old/main.js) a second Mixer
 * runs from it and the forced misses, bare Checks and server cases are timed against both
 * in the same loop, so the rows compare side by side.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { encodeBag, encodeReport, GLOBAL_WORDS, MutableBag } from '@tsmesh/attributes';
import { mixerServiceDefinition } from '@tsmesh/protocol';
import type { FieldError } from '@tsmesh/core';
// The filter and its test stream helpers are not (yet) exported from @tsmesh/dataplane's index,
// which another engineer owns; the benchmark reaches into the source tree directly.
/* eslint-disable @nx/enforce-module-boundaries */
import { mixerFilterWith } from '../../libs/dataplane/src/filters/http/mixer';
import {
  encodeForwarded,
  FORWARD_HEADER,
  requestBag,
} from '../../libs/dataplane/src/filters/http/mixer/request-attributes';
import { factoryContext, fakeStream } from '../../libs/dataplane/src/filters/http/jwt_authn/testing';
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

function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
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
  const call = (m: string, req: unknown) =>
    new Promise<void>((res, rej) => client[m](req, (e) => (e ? rej(e) : res())));
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
  close();
  return { check, report, rtt };
}

async function main() {
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
