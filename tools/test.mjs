#!/usr/bin/env node
// `npm test`: build every app (integration tests start the built processes),
// run every project's Jest suite through Nx, then print one workspace summary
// line "N passed, N failed" aggregated from tools/jest-summary-reporter.cjs.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const extra = process.argv.slice(2);
const nx = join(root, 'node_modules/.bin/nx');

function collectSummaries(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) collectSummaries(p, out);
    else if (entry === 'test-summary.json') out.push(p);
  }
  return out;
}

for (const f of collectSummaries(join(root, 'coverage'))) rmSync(f);

const run = (args) => spawnSync(nx, args, { stdio: 'inherit', cwd: root, env: process.env });

const build = run(['run-many', '-t', 'build', '--outputStyle=static']);
if (build.status !== 0) {
  console.log('0 passed, 1 failed');
  console.error('build failed: tests were not run');
  process.exit(1);
}
const test = run(['run-many', '-t', 'test', '--outputStyle=static', ...extra]);

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
for (const f of collectSummaries(join(root, 'coverage'))) {
  const s = JSON.parse(readFileSync(f, 'utf8'));
  passed += s.passed;
  failed += s.failed;
  skipped += s.skipped;
  failures.push(...(s.failures ?? []));
}
for (const f of failures) {
  console.log(`FAILED ${f.file} › ${f.test}`);
  if (f.message) console.log(f.message.replace(/^/gm, '    '));
}
// A project whose Jest crashed before reporting still fails the run.
if (test.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(test.status === 0 && failed === 0 ? 0 : 1);
