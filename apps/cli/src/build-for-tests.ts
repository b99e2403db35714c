/**
 * Integration tests run built apps. Under Nx (`npm test` builds everything first, then runs each
 * project's tests as Nx tasks) nothing is rebuilt, which also avoids a nested Nx run; run directly
 * with Jest they build what they need (Nx's cache makes that quick when nothing changed).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '../../..');

export function buildForTests(projects: string[] | 'all'): { ok: boolean; skipped: boolean } {
  if (process.env['NX_TASK_TARGET_PROJECT']) return { ok: true, skipped: true };
  const args =
    projects === 'all' ? ['nx', 'run-many', '-t', 'build'] : ['nx', 'run-many', '-t', 'build', '-p', ...projects];
  const r = spawnSync('npx', [...args, '--outputStyle=static'], {
    cwd: ROOT,
    env: { ...process.env, NX_DAEMON: 'false' },
    encoding: 'utf8',
  });
  return { ok: r.status === 0, skipped: false };
}
