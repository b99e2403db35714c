#!/usr/bin/env node
// Runs a benchmark: `node tools/bench/run.mjs <name> [args…]` bundles
// tools/bench/<name>.bench.ts (workspace aliases resolved, packages external)
// with esbuild into tmp/bench/ and runs it. Benchmarks print Markdown tables of
// ratios measured side by side in one run; they are never part of `npm test`.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(join(root, 'tools/bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''));

if (!name) {
  console.log(`usage: node tools/bench/run.mjs <${available.join('|')}> [args]`);
  process.exit(available.length ? 0 : 1);
}
const entry = join(root, 'tools/bench', `${name}.bench.ts`);
if (!existsSync(entry)) {
  console.error(`no benchmark "${name}" (have: ${available.join(', ') || 'none'})`);
  process.exit(2);
}
const outfile = join(root, 'tmp/bench', `${name}.js`);
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  sourcemap: true,
  tsconfig: join(root, 'tsconfig.base.json'),
  logLevel: 'warning',
});
const res = spawnSync(process.execPath, ['--enable-source-maps', '--expose-gc', outfile, ...args], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(res.status ?? 1);
