// Every file under samples/ validates with @tsmesh/mesh-config, and apply/delete
// round-trip through a config folder without touching it when a file is bad.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { applyFile, checkFile, deleteFile, listConfig } from './commands/config-files';

const ROOT = join(__dirname, '../../..');
const SAMPLES = join(ROOT, 'samples');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? yamlFiles(join(dir, n)) : [join(dir, n)]))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

const files = yamlFiles(SAMPLES);

test('samples/ holds every topic folder', () => {
  expect(files.length).toBeGreaterThanOrEqual(40);
  expect(new Set(files.map((f) => relative(SAMPLES, f).split('/')[0]))).toEqual(
    new Set(['bookinfo', 'shop', 'bookrating', 'tutorial', 'ingress.yaml']),
  );
});

test.each(files.map((f) => [relative(SAMPLES, f), f]))('tsmesh validate %s', (_name, file) => {
  const r = checkFile(file);
  expect(r.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([]);
  expect(r.objects.length).toBeGreaterThan(0);
});

test('samples/README.md lists every sample file', () => {
  const readme = readFileSync(join(SAMPLES, 'README.md'), 'utf8');
  for (const f of files) expect(readme).toContain(relative(SAMPLES, f));
});

describe('apply / delete', () => {
  let dir: string;
  let dirs: { configDir: string; workloadsDir: string };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsmesh-cli-'));
    dirs = { configDir: join(dir, 'config'), workloadsDir: join(dir, 'workloads') };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('apply writes one file per object; same name replaces; delete removes', () => {
    const first = applyFile(join(SAMPLES, 'bookrating/virtual-service-v1.yaml'), dirs);
    expect(first.ok).toBe(true);
    expect(first.lines.at(-1)).toBe('virtualservice/rating created');
    expect(first.lines[0]).toMatch(/warning: subset version-v1 of host rating is not defined/);
    const second = applyFile(join(SAMPLES, 'bookrating/virtual-service-v2.yaml'), dirs);
    expect(second.lines.at(-1)).toBe('virtualservice/rating configured');
    const files = listConfig(dirs.configDir);
    expect(files).toEqual(['VirtualService.default.rating.yaml']);
    const written = parse(readFileSync(join(dirs.configDir, files[0]), 'utf8'));
    expect(written.spec.http[0].route[0].destination.subset).toBe('version-v2');
    expect(deleteFile(join(SAMPLES, 'bookrating/virtual-service-v2.yaml'), dirs).lines).toEqual([
      'virtualservice/rating deleted',
    ]);
    expect(listConfig(dirs.configDir)).toEqual([]);
  });

  test('a bad file is refused whole, with file, object and field named', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'apiVersion: networking.istio.io/v1alpha3',
        'kind: Gateway',
        'metadata: {name: ok-gw}',
        'spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]}',
        '---',
        'apiVersion: networking.istio.io/v1alpha3',
        'kind: VirtualService',
        'metadata: {name: reviews}',
        'spec:',
        '  hosts: [reviews]',
        '  http:',
        '  - route:',
        '    - destination: {host: reviews, subset: v1}',
        '      weight: 50',
        '    - destination: {host: reviews, subset: v2}',
        '      weight: 40',
      ].join('\n'),
    );
    const out = applyFile(bad, dirs);
    expect(out.ok).toBe(false);
    expect(out.lines[0]).toMatch(/bad\.yaml:\d+: VirtualService default\/reviews: spec\.http\[0\]/);
    expect(listConfig(dirs.configDir)).toEqual([]);
  });

  test("Mixer config goes to Mixer's folder; QuotaSpec and QuotaSpecBinding to Pilot's too (it builds the quota_spec)", () => {
    const both = { ...dirs, mixerConfigDir: join(dir, 'mixer') };
    const file = join(SAMPLES, 'bookinfo/policy/mixer-rule-productpage-ratelimit.yaml');
    expect(applyFile(file, both).ok).toBe(true);
    expect(listConfig(both.mixerConfigDir)).toEqual([
      'QuotaSpec.istio-system.request-count.yaml',
      'QuotaSpecBinding.istio-system.request-count.yaml',
      'memquota.istio-system.handler.yaml',
      'quota.istio-system.requestcount.yaml',
      'rule.istio-system.quota.yaml',
    ]);
    expect(listConfig(dirs.configDir)).toEqual([
      'QuotaSpec.istio-system.request-count.yaml',
      'QuotaSpecBinding.istio-system.request-count.yaml',
    ]);
    expect(deleteFile(file, both).ok).toBe(true);
    expect([...listConfig(both.mixerConfigDir), ...listConfig(dirs.configDir)]).toEqual([]);
  });

  test('workloads (the failing-order Deployment) go to the workloads folder', () => {
    expect(applyFile(join(SAMPLES, 'shop/failing-order-service.yaml'), dirs).ok).toBe(true);
    expect(listConfig(dirs.workloadsDir)).toEqual(['Deployment.default.order.yaml']);
    expect(listConfig(dirs.configDir)).toEqual([]);
  });
});
