/**
 * Shared set-up for the end-to-end scenarios: decides whether the full mesh can run (pilot,
 * proxy and gateway built and implemented), starts it with `tsmesh up -d` on a private subnet
 * and ports, and gives helpers to apply samples and call through the ingress gateway.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildForTests } from '../build-for-tests';
import { probeComponent } from '../components';

export const ROOT = join(__dirname, '../../../..');
const BIN = join(ROOT, 'bin/tsmesh.js');

export function tsmesh(stateDir: string, ...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args, '--state-dir', stateDir], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TSMESH_ROOT: ROOT },
    timeout: 300_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

export interface Mesh {
  stateDir: string;
  gateway: string;
  /** Wall-clock time `tsmesh up -d` took to return ready (ms). */
  upMs: number;
  /** `http://<pod-ip>:<port>` of a workload: its service port, owned by its sidecar's inbound listener. */
  entry(deployment: string, port: number): string;
  down(): void;
}

/** Why the full mesh cannot run here, or null when it can. */
export function missingComponents(needed = ['pilot', 'proxy', 'gateway']): string | null {
  const missing = needed.map((p) => probeComponent(ROOT, p)).filter((c) => !c.available);
  return missing.length ? missing.map((c) => c.reason).join('; ') : null;
}

/**
 * Starts the whole mesh, or returns the reason it cannot. A mesh that does not become ready is a
 * skip with the launcher's explanation unless TSMESH_E2E_STRICT=1 (then the suite fails).
 */
export function startMesh(
  name: string,
  options: { needed?: string[]; extraArgs?: string[] } = {},
): { mesh: Mesh | null; reason: string | null } {
  const why = missingComponents(options.needed);
  if (why) return { mesh: null, reason: why };
  const build = buildForTests('all');
  if (!build.ok) process.stderr.write(`[e2e ${name}] some builds failed; running what is built\n`);
  const stateDir = mkdtempSync(join(tmpdir(), `tsmesh-e2e-${name}-`));
  const n = 30 + (process.pid % 150);
  const gateway = `127.0.0.1:${18000 + (process.pid % 1000)}`;
  const started = Date.now();
  const up = tsmesh(
    stateDir,
    'up',
    '-d',
    '--no-build',
    '--subnet',
    `127.${n}.1`,
    '--gateway-address',
    gateway,
    '--ready-timeout',
    '60s',
    ...(options.extraArgs ?? []),
  );
  const upMs = Date.now() - started;
  let stopped = false;
  const mesh: Mesh = {
    stateDir,
    gateway,
    upMs,
    entry(deployment, port) {
      const st = JSON.parse(tsmesh(stateDir, 'status', '--json').out) as { processes: { name: string; ip: string }[] };
      const p = st.processes.find((x) => x.name === deployment);
      if (!p) throw new Error(`no process ${deployment}`);
      return `http://${p.ip}:${port}`;
    },
    down() {
      if (stopped) return;
      stopped = true;
      tsmesh(stateDir, 'down');
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  const fail = (reason: string) => {
    mesh.down();
    if (process.env['TSMESH_E2E_STRICT'] === '1') throw new Error(reason);
    return { mesh: null, reason };
  };
  if (up.code !== 0) return fail(`the mesh did not become ready:\n${up.out}`);
  const st = JSON.parse(tsmesh(stateDir, 'status', '--json').out) as { status?: string; error?: string };
  if (st.status !== 'ready') return fail(`the mesh is ${st.status}: ${st.error ?? ''}`);
  // A gateway that is "ready" but got no listeners from Pilot cannot serve any scenario.
  const listeners = gatewayListeners(stateDir);
  if (listeners === 0)
    return fail(
      'the ingress gateway is ready but Pilot sent it no listeners (check Gateway selector vs the node LABELS metadata)',
    );
  return { mesh, reason: null };
}

/** Listener count from the gateway's admin `/listeners` (null when there is no gateway). */
function gatewayListeners(stateDir: string): number | null {
  const st = JSON.parse(tsmesh(stateDir, 'status', '--json').out) as {
    processes?: { role: string; listeners: Record<string, string> }[];
  };
  const admin = st.processes?.find((p) => p.role === 'gateway')?.listeners['admin'];
  if (!admin) return null;
  const deadline = Date.now() + 15_000;
  let count = 0;
  while (Date.now() < deadline) {
    const r = spawnSync('curl', ['-s', '--max-time', '2', `http://${admin}/listeners`], { encoding: 'utf8' });
    count = (r.stdout ?? '').split('\n').filter((l) => l.trim()).length;
    if (count > 0) return count;
    spawnSync('sleep', ['0.5']);
  }
  return count;
}

export function skipNotice(suite: string, reason: string): void {
  process.stderr.write(`\n[e2e] SKIPPED ${suite}: ${reason}\n\n`);
}

export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, agent: false, timeout: 20_000 },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

/** Polls until `check` passes (config pushes take a moment to reach every proxy). */
/**
 * Waits until `n` answers in a row pass `check` — after a routing change, one matching answer can
 * still come from the old weights (e.g. the 25 % side of a canary) before the push has landed.
 */
export async function settled<T>(
  fn: () => Promise<T>,
  check: (v: T) => boolean,
  n = 5,
  timeoutMs = 20_000,
): Promise<void> {
  await eventually(
    async () => {
      for (let i = 0; i < n; i++) if (!check(await fn())) return false;
      return true;
    },
    (ok) => ok,
    timeoutMs,
  );
}

export async function eventually<T>(fn: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (check(last)) return last;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (last === undefined) return fn();
  return last;
}
