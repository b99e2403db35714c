/** `tsmesh down` and `tsmesh status [--json]`, from `.tsmesh/state.json`. */
import { cliErrors } from '../errors';
import { statePaths } from '../paths';
import { alive, readState, removeState } from '../state';
import { printSummary, type Out } from './up';

export async function down(stateDir: string, out: Out, graceMs = 20_000): Promise<number> {
  const paths = statePaths(stateDir);
  const st = readState(paths.stateFile);
  if (!st) throw cliErrors.error('CLI_ERR_NOT_RUNNING', { state: paths.stateFile });
  const pids = st.processes.map((p) => p.pid).filter((p): p is number => !!p);
  if (alive(st.supervisorPid)) {
    out(`• stopping the mesh (supervisor pid ${st.supervisorPid}) …`);
    process.kill(st.supervisorPid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (alive(st.supervisorPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive(st.supervisorPid)) process.kill(st.supervisorPid, 'SIGKILL');
  }
  let killed = 0;
  for (const pid of pids)
    if (alive(pid)) {
      process.kill(pid, 'SIGKILL');
      killed++;
    }
  removeState(paths.stateFile);
  out(`• stopped${killed ? ` (${killed} process(es) had to be killed)` : ''}`);
  return 0;
}

export function status(stateDir: string, json: boolean, out: Out): number {
  const paths = statePaths(stateDir);
  const st = readState(paths.stateFile);
  if (!st) {
    if (json) out(JSON.stringify({ running: false }));
    else out('no mesh is running (start one with `tsmesh up`)');
    return json ? 0 : 3;
  }
  const running = alive(st.supervisorPid);
  if (json) {
    out(
      JSON.stringify({ running, ...st, processes: st.processes.map((p) => ({ ...p, alive: alive(p.pid) })) }, null, 2),
    );
    return 0;
  }
  out(
    `mesh ${running ? st.status : 'stale (supervisor gone)'} since ${st.startedAt}, supervisor pid ${st.supervisorPid}`,
  );
  out(`${'PROCESS'.padEnd(28)} ${'ROLE'.padEnd(13)} ${'STATUS'.padEnd(8)} ${'PID'.padEnd(7)} RESTARTS  LISTENERS`);
  for (const p of st.processes) {
    const listeners = Object.entries(p.listeners)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    out(
      `${p.name.padEnd(28)} ${p.role.padEnd(13)} ${(alive(p.pid) ? p.status : 'down').padEnd(8)} ${String(p.pid ?? '-').padEnd(7)} ${String(p.restarts).padEnd(9)} ${listeners}`,
    );
  }
  printSummary(st, out);
  return running ? 0 : 1;
}
