// The built `tsmesh kube-inject` through stdin/stdout: the whole demo install (output above 64 KiB,
// so a write cut short at exit shows), idempotence through two processes, usage and document errors.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { buildForTests } from './build-for-tests';
import { kubeInject } from './kube-inject';
import { loadKustomization } from './manifests';

jest.setTimeout(120_000);
const ROOT = join(__dirname, '../../..');
const run = (args: string[], input: string) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/tsmesh.js'), ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const demo = loadKustomization(join(ROOT, 'k8s/overlays/demo'))
  .map((o) => stringify(o))
  .join('---\n');

beforeAll(() => {
  buildForTests(['cli']);
});

test('kube-inject -f - injects the demo install, the same as the library, and again changes nothing', () => {
  const once = run(['kube-inject', '-f', '-'], demo);
  expect([once.code, once.stderr]).toEqual([0, '']);
  expect(once.stdout.length).toBeGreaterThan(64 * 1024);
  expect(once.stdout).toBe(kubeInject(demo));
  const proxies = parseAllDocuments(once.stdout)
    .map((d) => d.toJS() as { kind: string; spec?: { template?: { spec: { containers: { name: string }[] } } } })
    .filter((d) => d.kind === 'Deployment')
    .map((d) => d.spec?.template?.spec.containers.filter((c) => c.name === 'istio-proxy').length);
  expect(proxies.filter((n) => n === 1).length).toBeGreaterThan(5);
  const twice = run(['kube-inject', '--filename', '-'], once.stdout);
  expect([twice.code, twice.stdout]).toEqual([0, once.stdout]);
});

test('kubectl kustomize output, when kubectl is installed', () => {
  const k = spawnSync('kubectl', ['kustomize', join(ROOT, 'k8s/overlays/demo')], { encoding: 'utf8' });
  if (k.error || k.status !== 0) return; // no kubectl here: the loader-based test above covers the input
  const r = run(['kube-inject', '-f', '-', '--proxy-image', 'reg.local/proxy:1'], k.stdout);
  expect(r.code).toBe(0);
  expect(r.stdout.match(/^\s+image: reg\.local\/proxy:1$/gm)?.length).toBeGreaterThan(5);
});

test('a bad document exits 2 with CLI_ERR_KUBE_INJECT; a missing -f is a usage error (2)', () => {
  const bad = run(
    ['kube-inject', '-f', '-'],
    'kind: Service\nmetadata: {name: s}\n---\nkind: Job\nmetadata: {name: j}\n',
  );
  expect(bad.code).toBe(2);
  expect(bad.stdout).toBe('');
  expect(bad.stderr).toBe(
    'tsmesh: CLI_ERR_KUBE_INJECT: document 1 (Job j): spec: missing or not a mapping; nothing was written\n',
  );
  const usage = run(['kube-inject'], '');
  expect(usage.code).toBe(2);
  expect(usage.stderr).toMatch(/CLI_ERR_USAGE: usage: tsmesh kube-inject -f FILE\|-/);
});
