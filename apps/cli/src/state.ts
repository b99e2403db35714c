/** `.tsmesh/state.json`: what `tsmesh status` and `tsmesh down` read. */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Link } from './plan';

export interface ProcessState {
  name: string;
  role: string;
  pod: string;
  ip: string;
  pid: number | null;
  status: string;
  restarts: number;
  listeners: Record<string, string>;
  log: string;
  lastExit?: string;
}

export interface MeshState {
  supervisorPid: number;
  status: 'starting' | 'ready' | 'degraded' | 'failed' | 'stopping';
  startedAt: string;
  error?: string;
  missing: string[];
  notes: string[];
  links: Link[];
  direct?: Link[];
  admin: Link[];
  logsDir: string;
  configDir: string;
  processes: ProcessState[];
}

export function readState(file: string): MeshState | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as MeshState;
  } catch {
    return null;
  }
}

export function writeState(file: string, s: MeshState): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(s, null, 2));
  renameSync(`${file}.tmp`, file);
}

export function removeState(file: string): void {
  rmSync(file, { force: true });
}

export function alive(pid: number | null | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
