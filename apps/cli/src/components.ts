/**
 * Which deployables exist right now. Other components land while the demos
 * already run, so the launcher asks each built `dist/apps/<project>/main.js`
 * for `--help`: missing file, a non-zero exit or "not implemented" means the
 * component is missing (and is reported, never faked). The flags its help
 * lists are remembered so the launcher passes only flags the build knows.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface Component {
  project: string;
  main: string;
  available: boolean;
  /** Why it is missing (for the progress output). */
  reason?: string;
  flags: Set<string>;
}

export function distMain(root: string, project: string): string {
  return join(root, 'dist/apps', project, 'main.js');
}

export function probeComponent(root: string, project: string): Component {
  const main = distMain(root, project);
  if (!existsSync(main)) return { project, main, available: false, reason: `${main} is not built`, flags: new Set() };
  const r = spawnSync(process.execPath, [main, '--help'], {
    encoding: 'utf8',
    timeout: 15_000,
    env: { ...process.env, LOG_LEVEL: 'error' },
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (/not implemented/i.test(out))
    return { project, main, available: false, reason: `${project} prints "not implemented"`, flags: new Set() };
  if (r.status !== 0) {
    const line = out.trim().split('\n')[0] ?? '';
    return {
      project,
      main,
      available: false,
      reason: `${project} --help exited ${r.status}${line ? `: ${line}` : ''}`,
      flags: new Set(),
    };
  }
  const flags = new Set((out.match(/--[a-z0-9][a-z0-9-]*/g) ?? []).filter((f) => f !== '--help'));
  if (flags.size === 0)
    return { project, main, available: false, reason: `${project} --help lists no flags (placeholder build?)`, flags };
  return { project, main, available: true, flags };
}

/** Keeps the `--flag value` pairs the component lists in its help; reports the rest. */
export function supportedFlags(c: Component, wanted: [string, string][]): { args: string[]; dropped: string[] } {
  const args: string[] = [];
  const dropped: string[] = [];
  for (const [flag, value] of wanted) {
    if (c.flags.has(flag)) args.push(flag, value);
    else dropped.push(flag);
  }
  return { args, dropped };
}
