/**
 * A private Prometheus for the e2e suites: the Debian `prometheus` binary scraping the given
 * targets every second, on a free loopback port, with its TSDB in a temp dir. `stop()` ends it
 * (SIGTERM, awaited) and removes the dir. Queries go through its HTTP API (`/api/v1/query`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir, waitFor } from '@tsmesh/testing';
import { request } from './mesh';

/** Why no Prometheus can be started here, or null when the binary runs. */
export function prometheusMissing(): string | null {
  const r = spawnSync('prometheus', ['--version'], { stdio: 'ignore' });
  return r.status === 0
    ? null
    : 'the `prometheus` binary is not installed (tools/ci/install-system-deps.sh, or apt-get install -y prometheus)';
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
  /** Evaluation time of the query, in seconds (Prometheus' own clock). */
  time: number;
}

export interface Prometheus {
  url: string;
  /** An instant query returning a vector; `time` (seconds) evaluates it at that moment instead of now. */
  query(promql: string, time?: number): Promise<Sample[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(targets: string[]): Promise<Prometheus> {
  const dir = tempDir('tsmesh-e2e-prometheus-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = join(dir.path, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: istio-mesh',
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const logFile = join(dir.path, 'prometheus.log');
  const log = openSync(logFile, 'w');
  const proc = spawn(
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
    proc.once('exit', () => resolve());
    proc.once('error', (e) => {
      failure = e;
      resolve();
    });
  });
  const stop = async () => {
    if (!failure && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const killLater = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killLater);
    }
    dir.cleanup();
  };
  try {
    const state = await waitFor(
      async () => {
        if (failure || proc.exitCode !== null) return 'gone';
        return (await request(`${url}/-/ready`)).status === 200 && 'ready';
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `prometheus ready at ${url}` },
    );
    if (state === 'gone') throw new Error(`prometheus did not start: ${failure?.message ?? `exit ${proc.exitCode}`}`);
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
      const res = await request(`${url}/api/v1/query?${params}`);
      const body = JSON.parse(res.body) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success' || body.data?.resultType !== 'vector')
        throw new Error(`prometheus query ${promql}: ${res.status} ${body.error ?? res.body}`);
      return body.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]), time: r.value[0] }));
    },
    stop,
  };
}
