/** Start-up failures of the built sidecar: one clear line on stderr and exit code 2. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { distPath, tempDir, workspaceRoot } from '@tsmesh/testing';

const dir = tempDir('proxy-startup-');

beforeAll(() => {
  if (!existsSync(distPath('proxy'))) {
    execFileSync('npx', ['nx', 'build', 'proxy', '--skip-nx-cache', '--outputStyle=static'], {
      cwd: workspaceRoot,
      env: { ...process.env, NX_DAEMON: 'false' },
      stdio: 'ignore',
    });
  }
}, 120_000);
afterAll(() => dir.cleanup());

function run(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [distPath('proxy'), ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stderr: r.stderr };
}

it.each([
  [
    ['--config-path', '/nonexistent/bootstrap.yaml'],
    /^proxy: PROXY_ERR_BOOTSTRAP_READ: cannot read bootstrap \/nonexistent\/bootstrap\.yaml: ENOENT\n$/,
  ],
  [['--discovery-address', 'pilot'], /^proxy: PROXY_ERR_BAD_ADDRESS: invalid address pilot for --discovery-address/],
  [['--service-node', 'gateway~1~2'], /^proxy: PROXY_ERR_BAD_SERVICE_NODE: /],
  [['--drain-duration', 'soon'], /^proxy: CORE_ERR_BAD_SETTING: /],
])('%j fails with one line and exit 2', (args, line) => {
  const r = run(args as string[]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(line);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
});

it('names the bad field of an invalid bootstrap', () => {
  const file = join(dir.path, 'bad.yaml');
  writeFileSync(file, 'node: {id: x}\nstatic_resources:\n  clusters:\n  - name: a\n    connect_timeout: soon\n');
  const r = run(['--config-path', file, '--admin-address', '127.0.0.1:0']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('PROXY_ERR_BOOTSTRAP_INVALID');
  expect(r.stderr).toContain('static_resources.clusters[0].connect_timeout');
});
