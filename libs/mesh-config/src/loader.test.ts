import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDir, loadFile, loadYaml } from './loader';

describe('loadYaml', () => {
  it('splits documents, skips empty ones and keeps each line', () => {
    const r = loadYaml(
      `---
# only a comment
---
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  ports: [{name: http, port: 9080}]
---
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {istio-injection: enabled}
`,
      'k8s.yaml',
    );
    expect(r.errors).toEqual([]);
    expect(r.objects.map((o) => [o.kind, o.metadata.namespace, o.metadata.name, o.source?.line])).toEqual([
      ['Service', 'default', 'reviews', 4],
      ['Namespace', '', 'shop', 11],
    ]);
    expect(r.objects[1].metadata.labels).toEqual({ 'istio-injection': 'enabled' });
    expect(r.objects[0].source?.fieldLines?.['spec.ports[0]']).toBe(8);
  });

  it('reads JSON, JSON arrays and List kinds', () => {
    const json = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'reviews' }, subsets: [] },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [] } },
      ],
    });
    const r = loadYaml(json, 'list.json');
    expect(r.errors).toEqual([]);
    expect(r.objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'Endpoints/default/reviews',
      'Pod/ns/p',
    ]);
    expect(r.objects[0].spec).toEqual({ subsets: [] });
    const arr = loadYaml(`[{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"}}]`, 'a.json');
    expect(arr.objects.map((o) => o.metadata.name)).toEqual(['a']);
  });

  it('applies a default namespace like kubectl -n, but not to cluster-scoped kinds', () => {
    const r = loadYaml(
      `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec: {servers: []}
---
apiVersion: authentication.istio.io/v1alpha1
kind: MeshPolicy
metadata: {name: default, namespace: ignored}
spec: {}
`,
      'x.yaml',
      { defaultNamespace: 'bookinfo' },
    );
    expect(r.objects.map((o) => o.metadata.namespace)).toEqual(['bookinfo', '']);
  });

  it('reports documents that are not objects or lack kind/apiVersion', () => {
    const r = loadYaml(
      `just a string
---
kind: Service
metadata: {name: a}
---
apiVersion: v1
metadata: {name: b}
`,
      'junk.yaml',
    );
    expect(r.objects).toEqual([]);
    expect(r.errors.map((e) => `${e.line}: ${e.message}`)).toEqual([
      '1: not a config object: document is a string, not an object',
      '3: not a config object: missing apiVersion',
      '6: not a config object: missing kind',
    ]);
  });

  it('rejects duplicate keys as invalid YAML', () => {
    const r = loadYaml('apiVersion: v1\nkind: Service\nkind: Pod\nmetadata: {name: a}\n', 'dup.yaml');
    expect(r.objects).toEqual([]);
    expect(r.errors[0]).toMatchObject({ code: 'MESH_CONFIG_ERR_INVALID_YAML', line: 3 });
  });
});

describe('loadFile / loadDir', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mesh-config-'));
    mkdirSync(join(dir, 'nested'));
    writeFileSync(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\n');
    writeFileSync(join(dir, 'nested', 'b.yml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: b}\n');
    writeFileSync(join(dir, 'nested', 'c.json'), '{"apiVersion":"v1","kind":"Service","metadata":{"name":"c"}}');
    writeFileSync(join(dir, 'README.md'), '# not config');
    writeFileSync(join(dir, '.hidden.yaml'), 'not: loaded');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads every yaml/yml/json file recursively with its file name', () => {
    const r = loadDir(dir);
    expect(r.errors).toEqual([]);
    expect(r.objects.map((o) => [o.metadata.name, o.source?.file])).toEqual([
      ['a', join(dir, 'a.yaml')],
      ['b', join(dir, 'nested', 'b.yml')],
      ['c', join(dir, 'nested', 'c.json')],
    ]);
  });

  it('reports an unreadable file', () => {
    const r = loadFile(join(dir, 'missing.yaml'));
    expect(r.errors[0]).toMatchObject({ code: 'MESH_CONFIG_ERR_READ_FAILED', file: join(dir, 'missing.yaml') });
  });
});

describe('hostile input', () => {
  it('refuses oversized input and documents without parsing them whole', () => {
    const big = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: "${'x'.repeat(2 * 1024 * 1024)}"\n`;
    const r = loadYaml(big, 'big.yaml');
    expect(r.objects).toEqual([]);
    expect(r.errors[0].message).toMatch(/document is \d+ bytes, more than the \d+ allowed/);
    const r2 = loadYaml(big, 'big.yaml', { maxBytes: 1024 });
    expect(r2.errors[0].message).toMatch(/input is \d+ bytes, more than the 1024 allowed/);
  });

  it('refuses alias bombs', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const r = loadYaml(
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  ${lines.join('\n  ')}\n`,
      'bomb.yaml',
    );
    expect(r.objects).toEqual([]);
    expect(r.errors[0].code).toBe('MESH_CONFIG_ERR_INVALID_YAML');
  });
});

describe('text encodings users paste', () => {
  it('accepts a BOM and CRLF line ends, keeps lines right', () => {
    const r = loadYaml(
      '\ufeffapiVersion: v1\r\nkind: Service\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: Service\r\nmetadata: {name: b}\r\n',
      'win.yaml',
    );
    expect(r.errors).toEqual([]);
    expect(r.objects.map((o) => [o.metadata.name, o.source?.line])).toEqual([
      ['a', 1],
      ['b', 6],
    ]);
  });

  it('reports tab indentation with its line', () => {
    const r = loadYaml('apiVersion: v1\nkind: Service\nmetadata:\n\tname: a\n', 'tabs.yaml');
    expect(r.objects).toEqual([]);
    expect(r.errors[0]).toMatchObject({ file: 'tabs.yaml', line: 4, code: 'MESH_CONFIG_ERR_INVALID_YAML' });
  });
});
