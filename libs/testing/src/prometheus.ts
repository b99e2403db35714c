/**
 * A private, real Prometheus for tests that check what it scrapes: the Debian `prometheus` binary
 * scraping the given targets every second (job `istio-mesh`), on a free loopback port, with its
 * TSDB in a temp dir. `stop()` ends it (SIGTERM, awaited) and removes the dir. Queries go through
 * its HTTP API (`/api/v1/query`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpRequest } from './http';
import { freePort } from './ports';
import { tempDir } from './temp';
import { waitFor } from './wait';
import { requirePeers } from './strict';

const MISSING =
  'the `prometheus` binary is not installed (apt-get install -y prometheus, which tools/ci/install-system-deps.sh runs as root)';

/** Why no Prometheus can be started here, or null when the binary runs. */
export function prometheusMissing(): string | null {
  return spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0 ? null : MISSING;
}

/**
 * Why a suite that needs Prometheus should be skipped, or null when it should run: it runs when
 * the binary is there, and also without it under CI (`CI=true`) or `TSMESH_E2E_STRICT=1`, where
 * `startPrometheus` then fails the suite with the reason.
 */
export function prometheusSkipReason(): string | null {
  return requirePeers() ? null : prometheusMissing();
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
  /** Evaluation time of the query, in seconds (Prometheus' own clock). */
  time: number;
}

export interface Prometheus {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** An instant query returning a vector; `time` (seconds) evaluates it at that moment instead of now. */
  query(promql: string, time?: number): Promise<Sample[]>;
  /** SIGTERM (SIGKILL after 10 s), awaited; then the temp dir is removed. */
  stop(): Promise<void>;
}

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** Prometheus' scrape config: every target in one static job, scraped each second. */
function scrapeConfig(targets: string[]): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    'scrape_configs:',
    '  - job_name: istio-mesh',
    '    static_configs:',
    `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n');
}

/**
 * Starts Prometheus scraping `targets` (`host:port`, path `/metrics`) and resolves once it is
 * ready (`/-/ready`). Rejects with the reason when the binary is missing, and with the tail of its
 * log when it exits or does not get ready.
 */
export async function startPrometheus(targets: string[]): Promise<Prometheus> {
  const missing = prometheusMissing();
  if (missing) throw new Error(missing);
  const dir = tempDir('tsmesh-prometheus-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = join(dir.path, 'prometheus.yml');
  writeFileSync(config, scrapeConfig(targets));
  const logFile = join(dir.path, 'prometheus.log');
  const log = openSync(logFile, 'w');
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir.path, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  let failure: Error | undefined;
  // a binary that cannot start emits 'error' and may never emit 'exit'
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (e) => {
      failure = e;
      resolve();
    });
  });
  const stop = async () => {
    if (!failure && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killLater = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killLater);
    }
    dir.cleanup();
  };
  try {
    const state = await waitFor(
      async () => {
        if (failure || child.exitCode !== null) return 'gone';
        return (await httpRequest(`${url}/-/ready`)).status === 200 && 'ready';
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `prometheus ready at ${url}` },
    );
    if (state === 'gone') throw new Error(`prometheus did not start: ${failure?.message ?? `exit ${child.exitCode}`}`);
  } catch (e) {
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
    await stop();
    throw new Error(`${(e as Error).message}\n${tail}`);
  }
  return {
    url,
    async query(promql, time) {
      const params = new URLSearchParams({ query: promql });
      if (time !== undefined) params.set('time', String(time));
      const res = await httpRequest(`${url}/api/v1/query?${params}`);
      const body = JSON.parse(res.body) as QueryAnswer;
      if (body.status !== 'success' || body.data?.resultType !== 'vector')
        throw new Error(`prometheus query ${promql}: ${res.status} ${body.error ?? res.body}`);
      return body.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]), time: r.value[0] }));
    },
    stop,
  };
}
