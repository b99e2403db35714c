#!/usr/bin/env node
// The `tsmesh` command (package.json "bin", `npm start` → `tsmesh up`). It runs the bundled CLI
// at dist/apps/cli/main.js, building it first when it is missing.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
const main = join(root, 'dist/apps/cli/main.js');
if (!existsSync(main)) {
  process.stderr.write('tsmesh: building the CLI (dist/apps/cli/main.js is missing) …\n');
  const r = spawnSync('npx', ['nx', 'build', 'cli', '--outputStyle=static'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  if (r.status !== 0 || !existsSync(main)) {
    process.stderr.write('tsmesh: building the CLI failed; run `npx nx build cli` to see why\n');
    process.exit(1);
  }
}
process.env.TSMESH_ROOT = process.env.TSMESH_ROOT || root;
require(main);
