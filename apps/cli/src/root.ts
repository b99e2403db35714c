/** The workspace the launcher runs from: the nearest folder above cwd holding nx.json and k8s/ (or cwd). */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export function findRoot(start = process.cwd()): string {
  if (process.env['TSMESH_ROOT']) return resolve(process.env['TSMESH_ROOT']);
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'nx.json')) && existsSync(join(dir, 'k8s'))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(start);
    dir = up;
  }
}
