// The built `tsmesh` binary: exit codes and messages of validate/apply/usage errors.
import { spawnSync } from 'node:child_process';
import { buildForTests } from './build-for-tests';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(120_000);
const ROOT = join(__dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'tsmesh-cli-'));
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/tsmesh.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

beforeAll(() => {
  buildForTests(['cli']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('validate: 0 for a good file, 1 with file:line, object and field for a bad one', () => {
  const good = run('validate', '-f', 'samples/shop/circuit-breaker.yaml');
  expect([good.code, good.stdout.trim()]).toEqual([0, 'samples/shop/circuit-breaker.yaml: valid (1 object(s))']);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    'apiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule\nmetadata: {name: order}\nspec:\n  host: order\n  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: -1}\n',
  );
  const out = run('validate', '-f', bad);
  expect(out.code).toBe(1);
  expect(out.stdout).toMatch(
    new RegExp(
      `${bad}:\\d+: DestinationRule default/order: spec\\.trafficPolicy\\.connectionPool\\.tcp\\.maxConnections`,
    ),
  );
});

test('apply of a bad file writes nothing; usage errors exit 2 with a coded message', () => {
  const state = join(dir, 'state');
  const bad = join(dir, 'bad2.yaml');
  writeFileSync(
    bad,
    'apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: []}\n',
  );
  const applied = run('apply', '-f', bad, '--state-dir', state);
  expect(applied.code).toBe(1);
  expect(existsSync(join(state, 'config')) ? readdirSync(join(state, 'config')) : []).toEqual([]);
  const usage = run('frobnicate');
  expect([usage.code, usage.stderr.trim()]).toEqual([2, 'tsmesh: CLI_ERR_USAGE: unknown command frobnicate']);
  expect(run('apply').stderr).toContain('usage: tsmesh apply -f FILE');
  expect(run('up', '--help').stdout).toContain('--without <list>  [$TSMESH_WITHOUT]');
  expect(run('down', '--state-dir', state).stderr).toContain('CLI_ERR_NOT_RUNNING');
});
