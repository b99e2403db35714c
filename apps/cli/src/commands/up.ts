/**
 * `tsmesh up`: build what is stale, read the manifests, start the control
 * plane and every pod (app + sidecar) as local processes, write the registry
 * and the default samples into Pilot's config folder, wait for readiness and
 * print where everything is. Foreground: Ctrl-C stops it all. `-d`: a detached
 * supervisor keeps running and `up` returns once it reports ready.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Settings } from '@tsmesh/core';
import { probeComponent, type Component } from '../components';
import { cliErrors } from '../errors';
import { loadKustomization, parseYamlObjects } from '../manifests';
import { statePaths } from '../paths';
import { buildPlan, withOverride, type Plan } from '../plan';
import { registryObjects, writeRegistry } from '../registry';
import type { upConfig } from '../settings';
import { alive, readState, removeState, writeState, type MeshState } from '../state';
import { Supervisor } from '../supervisor';
import { buildTopology } from '../topology';
import { applyFile } from './config-files';

type UpSettings = Settings<(typeof upConfig)['specs']>;
export type Out = (line: string) => void;

const CONTROL = ['pilot', 'proxy', 'gateway', 'mixer', 'citadel'];

function runBuild(root: string, out: Out): void {
  out('• building what is stale (npx nx run-many -t build) …');
  const r = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'], {
    cwd: root,
    env: { ...process.env, NX_DAEMON: 'false' },
    encoding: 'utf8',
  });
  if (r.status === 0) out('  build ok');
  else {
    const failed = [...new Set((r.stdout ?? '').match(/nx run ([\w-]+):build/g) ?? [])].slice(0, 10);
    out(`  build failed for some projects (${failed.join(', ') || `exit ${r.status}`}); running whatever is built`);
  }
}

/** Env of applied Deployments, by `<namespace>/<name>`. */
export function readWorkloadEnv(dir: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    for (const o of parseYamlObjects(readFileSync(join(dir, f), 'utf8'), f)) {
      const c = (o.spec?.['template'] as { spec?: { containers?: { env?: { name: string; value?: unknown }[] }[] } })
        ?.spec?.containers?.[0];
      const env: Record<string, string> = {};
      for (const e of c?.env ?? []) if (e.value !== undefined) env[e.name] = String(e.value);
      out.set(`${o.metadata.namespace ?? 'default'}/${o.metadata.name}`, env);
    }
  }
  return out;
}

function dirSignature(dir: string): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir)
    .map((f) => `${f}:${statSync(join(dir, f)).mtimeMs}`)
    .sort()
    .join('|');
}

/** The last warning or error a process logged (its `msg` and `error`), to say why it is not ready. */
function lastProblem(log: string): string {
  if (!existsSync(log)) return '';
  const lines = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-200).reverse();
  for (const line of lines) {
    try {
      const j = JSON.parse(line) as { level?: string; msg?: string; error?: string };
      if (j.level === 'warn' || j.level === 'error' || j.level === 'fatal')
        return [j.msg, j.error].filter(Boolean).join(': ').slice(0, 300);
    } catch {
      if (line.trim()) return line.slice(0, 300);
    }
  }
  return '';
}

export function printSummary(
  s: Pick<MeshState, 'links' | 'direct' | 'admin' | 'missing' | 'notes' | 'logsDir' | 'configDir' | 'status'>,
  out: Out,
): void {
  if (s.missing.length) {
    out('Not running:');
    for (const m of s.missing) out(`  - ${m}`);
  }
  for (const n of s.notes) out(`  note: ${n}`);
  out('Open:');
  for (const l of s.links) out(`  ${l.label.padEnd(34)} ${l.url}`);
  if (s.status === 'degraded' && s.direct?.length) {
    out('Directly at the pods (while the mesh is degraded):');
    for (const l of s.direct) out(`  ${l.label.padEnd(34)} ${l.url}`);
  }
  if (s.admin.length) {
    out('Admin / metrics:');
    for (const l of s.admin.slice(0, 8)) out(`  ${l.label.padEnd(34)} ${l.url}`);
    if (s.admin.length > 8) out(`  … ${s.admin.length - 8} more in tsmesh status --json`);
  }
  out(`Logs: ${s.logsDir}/<process>.log   Config: ${s.configDir} (tsmesh apply -f FILE)`);
}

export async function up(root: string, s: UpSettings, out: Out): Promise<number> {
  const paths = statePaths(isAbsolute(s.stateDir) ? s.stateDir : join(root, s.stateDir));
  const existing = readState(paths.stateFile);
  if (existing && alive(existing.supervisorPid) && existing.supervisorPid !== process.pid)
    throw cliErrors.error('CLI_ERR_ALREADY_RUNNING', { pid: existing.supervisorPid, state: paths.stateFile });
  if (existing) removeState(paths.stateFile);
  if (s.build && !s.supervise) runBuild(root, out);
  if (s.detach && !s.supervise) return detach(root, s, paths.stateFile, paths.logsDir, out);
  return supervise(root, s, out);
}

async function detach(root: string, s: UpSettings, stateFile: string, logsDir: string, out: Out): Promise<number> {
  mkdirSync(logsDir, { recursive: true });
  const log = openSync(join(logsDir, 'supervisor.log'), 'a');
  const args = process.argv.slice(2).filter((a) => a !== '-d' && a !== '--detach' && !a.startsWith('--detach='));
  const child = spawn(process.execPath, [process.argv[1], ...args, '--supervise', '--no-build'], {
    cwd: root,
    detached: true,
    stdio: ['ignore', log, log],
    env: process.env,
  });
  closeSync(log);
  child.unref();
  out(`• supervisor started in the background (pid ${child.pid}); log ${join(logsDir, 'supervisor.log')}`);
  const deadline = Date.now() + s.readyTimeout + 30_000;
  for (;;) {
    const st = readState(stateFile);
    if (st?.status === 'ready' || st?.status === 'degraded') {
      if (st.status === 'degraded') out(`! degraded: ${st.error}`);
      printSummary(st, out);
      out('Stop with: tsmesh down');
      return 0;
    }
    if (st?.status === 'failed' || (!alive(child.pid) && Date.now() > deadline - s.readyTimeout)) {
      out(`✗ the mesh did not start: ${st?.error ?? 'the supervisor exited'}; see ${join(logsDir, 'supervisor.log')}`);
      return 1;
    }
    if (!alive(child.pid)) {
      out(`✗ the supervisor exited; see ${join(logsDir, 'supervisor.log')}`);
      return 1;
    }
    if (Date.now() > deadline) {
      out('✗ timed out waiting for the supervisor; `tsmesh status` shows what is not ready');
      return 1;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function supervise(root: string, s: UpSettings, out: Out): Promise<number> {
  const paths = statePaths(isAbsolute(s.stateDir) ? s.stateDir : join(root, s.stateDir));
  for (const d of [paths.root, paths.configDir, paths.mixerConfigDir, paths.workloadsDir, paths.logsDir])
    mkdirSync(d, { recursive: true });
  const topology = buildTopology(loadKustomization(resolve(root, s.manifests)), s.subnet);
  out(`• topology: ${topology.pods.length} deployments, ${topology.services.length} services from ${s.manifests}`);
  const projects = new Set([
    ...CONTROL,
    ...topology.pods.map((p) => p.container.project).filter((p): p is string => !!p),
  ]);
  const components = new Map<string, Component>();
  for (const p of projects) components.set(p, probeComponent(root, p));
  const without = new Set(s.without);
  const plan: Plan = buildPlan(topology, components, {
    gatewayAddress: s.gatewayAddress,
    configDir: paths.configDir,
    mixerConfigDir: paths.mixerConfigDir,
    tokensFile: paths.tokensFile,
    meshConfigPath: paths.meshConfigFile,
    citadelDir: paths.citadelDir,
    without,
    dataDir: paths.dataDir,
    databaseUrl: s.databaseUrl || undefined,
    redisUrl: process.env['REDIS_URL'] || undefined,
    logLevel: s.logLevel,
    zipkinAddress: s.zipkinAddress || undefined,
    workloadEnv: readWorkloadEnv(paths.workloadsDir),
  });
  const on = Object.entries(plan.mesh)
    .map(([k, v]) => `${k} ${v ? 'on' : 'off'}`)
    .join(', ');
  out(`• mesh: ${on}`);
  for (const m of plan.missing) out(`  - not running: ${m}`);
  writeFileSync(paths.tokensFile, plan.tokens.join('\n') + '\n', { mode: 0o600 });
  for (const f of plan.files) {
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(f.path, f.content);
  }
  writeRegistry(paths.configDir, registryObjects(topology, plan.pods));
  for (const f of s.samples) {
    const r = applyFile(resolve(root, f), paths);
    out(`• apply ${f}: ${r.ok ? 'ok' : r.lines.join('; ')}`);
  }

  const state: MeshState = {
    supervisorPid: process.pid,
    status: 'starting',
    startedAt: new Date().toISOString(),
    missing: plan.missing,
    notes: plan.notes,
    links: plan.links,
    direct: plan.direct,
    admin: plan.admin,
    logsDir: paths.logsDir,
    configDir: paths.configDir,
    processes: [],
  };
  let pending: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    state.processes = [...sup.procs.values()].map((m) => ({
      name: m.spec.name,
      role: m.spec.role,
      pod: m.spec.pod,
      ip: m.spec.ip,
      pid: m.pid,
      status: m.status,
      restarts: m.restarts,
      listeners: m.listeners,
      log: m.log,
      lastExit: m.lastExit,
    }));
    writeState(paths.stateFile, state);
  };
  const sup = new Supervisor({
    logsDir: paths.logsDir,
    report: out,
    onChange: () => {
      if (!pending) pending = setTimeout(() => ((pending = null), flush()), 50);
    },
  });
  let stopping: Promise<void> | null = null;
  const stop = (why: string) => {
    if (stopping) return stopping;
    out(`• ${why}: stopping ${sup.procs.size} processes …`);
    if (state.status !== 'failed') state.status = 'stopping';
    flush();
    stopping = sup.stopAll().then(() => {
      if (pending) clearTimeout(pending);
      // A failed start keeps its state (status and error) for `up -d` and `tsmesh status` to report.
      if (state.status === 'failed') flush();
      else removeState(paths.stateFile);
      out('• stopped');
    });
    return stopping;
  };
  const done = new Promise<number>((resolveDone) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const)
      process.once(sig, () => void stop(sig).then(() => resolveDone(0)));
  });
  flush();

  const first = (p: Plan['processes'][number]) => p.role === 'control-plane' || p.startFirst === true;
  const waves = [plan.processes.filter(first), plan.processes.filter((p) => !first(p))];
  for (const wave of waves) {
    for (const p of wave) {
      sup.start(p);
      out(`  ▸ ${p.name} (${p.role}) on ${p.ip}`);
    }
    const waiting = await sup.waitReady(
      wave.map((p) => p.name),
      s.readyTimeout,
    );
    if (stopping) return done;
    if (waiting.length) {
      const appsWaiting = waiting.filter((n) => sup.procs.get(n)?.spec.role === 'app');
      const err = cliErrors.error('CLI_ERR_NOT_READY', {
        timeout: `${s.readyTimeout / 1000}s`,
        waiting: waiting.join(', '),
      });
      out(`✗ ${err.message}`);
      const hints: string[] = [];
      for (const name of waiting.slice(0, 5)) {
        const m = sup.procs.get(name);
        const hint = m ? lastProblem(m.log) : '';
        if (hint) hints.push(`${name}: ${hint}`);
      }
      hints.forEach((h) => out(`  ${h}`));
      if (appsWaiting.length === 0) {
        // Mesh parts (control plane, gateway, sidecars) that are not ready yet keep running and may still
        // become ready; the demos are up, so the mesh is usable in part and says so.
        state.status = 'degraded';
        state.error = [err.message, ...hints].join('\n  ');
        out('  continuing degraded: these keep running (and restarting if they crash); `tsmesh status` shows them');
        continue;
      }
      state.status = 'failed';
      state.error = [err.message, ...hints].join('\n  ');
      flush();
      await stop('not ready');
      return 1;
    }
  }
  if (state.status !== 'degraded') state.status = 'ready';
  flush();
  out(state.status === 'ready' ? `✓ ready: ${plan.processes.length} processes` : `! up, degraded: ${state.error}`);
  printSummary(state, out);
  if (!s.supervise) out('Ctrl-C stops everything.');

  // Applied Deployments (tsmesh apply -f failing-order-service.yaml) restart their pod with the new env.
  let sig = dirSignature(paths.workloadsDir);
  const watch = setInterval(() => {
    const now = dirSignature(paths.workloadsDir);
    if (now === sig || stopping) return;
    sig = now;
    const overrides = readWorkloadEnv(paths.workloadsDir);
    for (const m of [...sup.procs.values()]) {
      if (m.spec.role !== 'app' || !m.spec.baseEnv) continue;
      const env = withOverride(m.spec.baseEnv, overrides.get(`${m.spec.namespace}/${m.spec.pod}`));
      if (JSON.stringify(env) === JSON.stringify(m.spec.env)) continue;
      out(`• ${m.spec.name}: workload changed; restarting with the applied env`);
      void sup.replace({ ...m.spec, env });
    }
  }, 1000);
  watch.unref();
  const code = await done;
  clearInterval(watch);
  return code;
}
