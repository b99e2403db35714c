// Prints, as sh assignments, what a launch.json asks for at process start (tools/docker/entrypoint.sh):
// `export NAME='value'` for each `env` entry the environment does not already set, and
// TSMESH_NODE_ARGS with the `nodeArgs`. No launch.json: no env, no node flags.
'use strict';
const fs = require('node:fs');

const file = process.argv[2];
let launch = {};
if (file && fs.existsSync(file)) launch = JSON.parse(fs.readFileSync(file, 'utf8'));
const quote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const lines = [];
for (const [name, value] of Object.entries(launch.env ?? {})) {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new Error(`${file}: env name ${JSON.stringify(name)} is not a shell name`);
  if (process.env[name] === undefined) lines.push(`export ${name}=${quote(value)}`);
}
const args = launch.nodeArgs ?? [];
for (const a of args)
  if (!/^--[a-z0-9-]+(=[A-Za-z0-9_.,:=-]+)?$/.test(a))
    throw new Error(`${file}: node flag ${JSON.stringify(a)} is not a single --flag word`);
lines.push(`TSMESH_NODE_ARGS=${quote(args.join(' '))}`);
process.stdout.write(`${lines.join('\n')}\n`);
