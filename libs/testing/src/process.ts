/**
 * Starts a built tsmesh app (`dist/apps/<project>/main.js`) as a real child
 * process, reads its JSON log lines, learns its bound addresses from the
 * workspace's `{"msg":"listening","listener":"<name>","address":"host:port"}`
 * lines, waits for readiness, and always cleans up.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { httpRequest } from './http';
import { waitFor } from './wait';

export const workspaceRoot = join(__dirname, '../../..');

export function distPath(project: string): string {
  return join(workspaceRoot, 'dist/apps', project, 'main.js');
}

/** Builds `project` (Nx, no cache) when its `dist/apps/<project>/main.js` is missing; integration tests call it first. */
export function ensureBuilt(project: string): void {
  if (existsSync(distPath(project))) return;
  execFileSync('npx', ['nx', 'build', project, '--skip-nx-cache', '--outputStyle=static'], {
    cwd: workspaceRoot,
    env: { ...process.env, NX_DAEMON: 'false' },
    stdio: 'ignore',
  });
}

export interface StartAppOptions {
  args?: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  ready?: {
    /** Listener names that must have logged "listening". */
    listeners?: string[];
    /** A path (on the listener named by `httpListener`, default `http`) or full URL that must answer 200. */
    http?: string;
    httpListener?: string;
    /** A log line that must appear. */
    log?: RegExp;
  };
  timeoutMs?: number;
  /** Echo the child's output to this process's stderr (debugging). */
  echo?: boolean;
}

export interface AppProcess {
  readonly project: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every stdout/stderr line so far. */
  readonly logs: string[];
  /** Listener name → `host:port`, from the "listening" log lines. */
  readonly addresses: Record<string, string>;
  /** `http://host:port` for a listener. */
  url(listener?: string): string;
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited(): Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

const running = new Set<AppProcess>();

export async function startApp(project: string, options: StartAppOptions = {}): Promise<AppProcess> {
  const main = distPath(project);
  if (!existsSync(main)) {
    throw new Error(`${main} is missing: run \`npm run build\` (or \`npx nx build ${project}\`) first`);
  }
  return startScript(project, main, options);
}

/** Like startApp for any Node script (used by this lib's own tests and by tools). */
export async function startScript(name: string, script: string, options: StartAppOptions = {}): Promise<AppProcess> {
  const child = spawn(process.execPath, ['--enable-source-maps', script, ...(options.args ?? [])], {
    cwd: options.cwd ?? workspaceRoot,
    env: { ...process.env, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const addresses: Record<string, string> = {};
  const waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  let exitCode: number | null | undefined;
  const exitPromise = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );

  const onLine = (line: string) => {
    logs.push(line);
    if (options.echo) process.stderr.write(`[${name}] ${line}\n`);
    if (line.startsWith('{') && line.includes('"listening"')) {
      try {
        const rec = JSON.parse(line) as { msg?: string; listener?: string; address?: string };
        if (rec.msg === 'listening' && rec.listener && rec.address) addresses[rec.listener] = rec.address;
      } catch {
        // not JSON after all
      }
    }
    for (const w of [...waiters]) {
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
  }

  const app: AppProcess = {
    project: name,
    child,
    pid: child.pid ?? -1,
    logs,
    addresses,
    url(listener = 'http') {
      const a = addresses[listener];
      if (!a)
        throw new Error(
          `${name} has not reported a "${listener}" listener (has: ${Object.keys(addresses).join(', ')})`,
        );
      return `http://${a}`;
    },
    waitForLog(re, timeoutMs = 10_000) {
      const found = logs.find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`${name}: no log line matching ${re} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        t.unref();
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
      });
    },
    exited: () => exitPromise,
    async stop(signal = 'SIGTERM', graceMs = 5000) {
      running.delete(app);
      if (exitCode !== undefined) return exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exitPromise;
      clearTimeout(timer);
      return code;
    },
  };
  running.add(app);

  const timeoutMs = options.timeoutMs ?? 20_000;
  const abort = new AbortController();
  void exitPromise.then(() => abort.abort());
  try {
    await Promise.race([
      waitUntilReady(app, options, timeoutMs, abort.signal),
      exitPromise.then((code) => {
        throw new Error(`${name} exited with code ${code} before it was ready:\n${logs.slice(-20).join('\n')}`);
      }),
    ]);
  } catch (e) {
    abort.abort();
    await app.stop('SIGKILL');
    throw e;
  }
  return app;
}

async function waitUntilReady(
  app: AppProcess,
  options: StartAppOptions,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  const ready = options.ready ?? {};
  for (const l of ready.listeners ?? []) {
    await waitFor(() => app.addresses[l], { timeoutMs, signal, what: `${app.project} listener "${l}"` });
  }
  if (ready.log) await app.waitForLog(ready.log, timeoutMs);
  if (signal.aborted) return;
  if (ready.http) {
    const listener = ready.httpListener ?? 'http';
    await waitFor(() => app.addresses[listener], { timeoutMs, signal, what: `${app.project} listener "${listener}"` });
    const url = /^https?:/.test(ready.http) ? ready.http : `${app.url(listener)}${ready.http}`;
    await waitFor(async () => (await httpRequest(url, { timeoutMs: 2000 })).status === 200, {
      timeoutMs,
      signal,
      what: `${url} to answer 200`,
    });
  }
}

/** Stops every app started by this test file (call in afterAll / afterEach). */
export async function stopAllApps(): Promise<void> {
  await Promise.all([...running].map((a) => a.stop()));
}

export type PilotSource =
  /** A folder of Istio YAML (Pilot's `--config-dir`); Pilot is ready once `/ready` answers. */
  | { configDir: string }
  /** A kubeconfig (Pilot's `--kube`, e.g. FakeKube's); ready once its listeners are up. */
  | { kubeconfig: string };

/**
 * Pilot on loopback port 0 (listeners `grpc` and `http`) with a 10 ms push debounce, the way the
 * integration tests run it; `options.args`/`options.env` are added to (not replace) these.
 */
export function startPilot(source: PilotSource, options: StartAppOptions = {}): Promise<AppProcess> {
  const fromDir = 'configDir' in source;
  return startApp('pilot', {
    ...options,
    args: [
      ...(fromDir ? ['--config-dir', source.configDir] : ['--kube']),
      '--grpc-addr',
      '127.0.0.1:0',
      '--http-addr',
      '127.0.0.1:0',
      ...(options.args ?? []),
    ],
    env: {
      PILOT_DEBOUNCE_AFTER: '10ms',
      ...(fromDir ? {} : { KUBECONFIG: source.kubeconfig }),
      ...options.env,
    },
    ready: options.ready ?? { listeners: ['grpc', 'http'], ...(fromDir ? { http: '/ready' } : {}) },
  });
}
