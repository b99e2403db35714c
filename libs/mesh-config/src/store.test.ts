import type { Logger } from '@tsmesh/core';
import { ConfigStore, storeKey, type MeshObject, type StoreChange } from './store';
import { applyFile, applyObject, validateMeshObject, type RejectedInput } from './store-apply';

const vs = (name: string, extra = '') => `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}]}]
${extra}`;

const pod = (ip: string): MeshObject => ({
  kind: 'Pod',
  metadata: {
    name: 'reviews-v1-abc',
    namespace: 'shop',
    resourceVersion: '8',
    creationTimestamp: '2026-11-23T08:00:00Z',
    labels: { app: 'reviews', version: 'v1' },
  },
  spec: { serviceAccountName: 'bookinfo-reviews', containers: [{ name: 'reviews', image: 'x' }] },
  status: { podIP: ip, phase: 'Running' },
});

function recording(store: ConfigStore): StoreChange[] {
  const changes: StoreChange[] = [];
  store.onChange((c) => changes.push(c));
  return changes;
}

describe('ConfigStore', () => {
  it('keys objects Kind/namespace/name, fills in the namespace and tells endpoint changes from config changes', () => {
    const store = new ConfigStore();
    const changes = recording(store);
    expect(applyFile(store, 'a.yaml', vs('a')).applied).toBe(1);
    expect(applyObject(store, pod('10.1.0.21'), 'kube')).toBe('stored');
    expect(applyObject(store, { kind: 'Namespace', metadata: { name: 'shop', namespace: 'x' } }, 'kube')).toBe(
      'stored',
    );
    expect(store.list().map((o) => [o.key, o.namespace, o.source, o.revision])).toEqual([
      ['Namespace//shop', '', 'kube', 3],
      ['Pod/shop/reviews-v1-abc', 'shop', 'kube', 2],
      ['VirtualService/default/a', 'default', 'a.yaml', 1],
    ]);
    expect(store.get('VirtualService/default/a')?.object.metadata.namespace).toBe('default');
    expect(store.get('Namespace//shop')?.object.metadata.namespace).toBeUndefined();
    expect(changes).toEqual([
      { key: 'VirtualService/default/a', kind: 'VirtualService', type: 'upsert', scope: 'config' },
      { key: 'Pod/shop/reviews-v1-abc', kind: 'Pod', type: 'upsert', scope: 'endpoints' },
      { key: 'Namespace//shop', kind: 'Namespace', type: 'upsert', scope: 'config' },
    ]);
    expect(store.revision).toBe(3);
    expect(store.list('Pod').map((o) => o.name)).toEqual(['reviews-v1-abc']);
    expect(storeKey('Namespace', 'x', 'shop')).toBe('Namespace//shop');
  });

  it('does not count the same object from the same source as a change (resourceVersion aside)', () => {
    const store = new ConfigStore();
    applyFile(store, 'a.yaml', vs('a'));
    applyObject(store, pod('10.1.0.21'), 'kube');
    const changes = recording(store);
    // A file without namespaces written again (the folder registry rereads a file when any object in it changed).
    expect(applyFile(store, 'a.yaml', `${vs('a')}---\n${vs('b')}`)).toEqual({ applied: 1, rejected: 0, deleted: 0 });
    // A Kubernetes relist: same object, new resourceVersion.
    const relisted = pod('10.1.0.21');
    relisted.metadata.resourceVersion = '9';
    expect(applyObject(store, relisted, 'kube')).toBe('unchanged');
    expect(changes.map((c) => c.key)).toEqual(['VirtualService/default/b']);
    expect(store.revision).toBe(3);
    // Another source writing the same object takes it over.
    expect(store.upsert(relisted, 'other')).toBe(true);
    expect(store.get('Pod/shop/reviews-v1-abc')?.source).toBe('other');
  });

  it('deletes with the change scope of the deleted kind and forgets its rejection', () => {
    const store = new ConfigStore();
    applyObject(store, pod('10.1.0.21'), 'kube');
    applyObject(store, { ...pod('10.1.0.22'), spec: { containers: 'x' } }, 'kube');
    expect(store.listRejections().map((r) => r.key)).toEqual(['Pod/shop/reviews-v1-abc']);
    const changes = recording(store);
    expect(store.delete('Pod/shop/reviews-v1-abc')).toBe(true);
    expect(store.delete('Pod/shop/reviews-v1-abc')).toBe(false);
    expect(changes).toEqual([{ key: 'Pod/shop/reviews-v1-abc', kind: 'Pod', type: 'delete', scope: 'endpoints' }]);
    expect(store.listRejections()).toEqual([]);
    expect(store.revision).toBe(2);
  });

  it('lists the keys of one source', () => {
    const store = new ConfigStore();
    applyFile(store, 'a.yaml', `${vs('b')}---\n${vs('a')}`);
    applyFile(store, 'b.yaml', vs('c'));
    expect(store.keysFromSource('a.yaml').sort()).toEqual(['VirtualService/default/a', 'VirtualService/default/b']);
  });
});

describe('applyFile (bad config never replaces good config)', () => {
  it('keeps the last good objects of a file that stops parsing', () => {
    const store = new ConfigStore();
    applyFile(store, 'a.yaml', vs('a'));
    const r = applyFile(store, 'a.yaml', 'kind: [');
    expect(r.fileError).toMatch(/^invalid YAML\/JSON: a\.yaml: /);
    expect(store.get('VirtualService/default/a')).toBeDefined();
    expect(store.listRejections().map((x) => [x.key, x.kind, x.source])).toEqual([['file:a.yaml', 'File', 'a.yaml']]);
    applyFile(store, 'a.yaml', vs('a'));
    expect(store.listRejections()).toEqual([]);
  });

  it('refuses a file with an alias to no anchor instead of throwing', () => {
    const store = new ConfigStore();
    applyFile(store, 'a.yaml', vs('a'));
    const r = applyFile(store, 'a.yaml', vs('a').replace('[reviews]', '[*nowhere]'));
    expect(r.fileError).toBeDefined();
    expect(store.get('VirtualService/default/a')?.object.spec).toEqual({
      hosts: ['reviews'],
      http: [{ route: [{ destination: { host: 'reviews' } }] }],
    });
  });

  it('rejects one bad object with every field error, keeps its last good version and the other objects', () => {
    const store = new ConfigStore();
    applyFile(store, 'a.yaml', `${vs('a')}---\n${vs('b')}`);
    const r = applyFile(store, 'a.yaml', `${vs('a')}---\n${vs('b').replace('host: reviews}', 'host: ""}')}`);
    expect(r).toEqual({ applied: 0, rejected: 1, deleted: 0 });
    expect(store.get('VirtualService/default/b')?.object.spec).toMatchObject({
      http: [{ route: [{ destination: { host: 'reviews' } }] }],
    });
    const [rej] = store.listRejections();
    expect([rej.key, rej.kind, rej.name, rej.source]).toEqual([
      'VirtualService/default/b',
      'VirtualService',
      'b',
      'a.yaml',
    ]);
    expect(rej.fieldErrors.map((f) => f.path)).toContain('spec.http[0].route[0].destination.host');
    expect(rej.error).toMatch(/^invalid VirtualService default\/b: spec\.http\[0\]\.route\[0\]\.destination\.host: /);
  });

  it('checks fields strictly: an unknown field is rejected with its path and nothing is stored', () => {
    const store = new ConfigStore();
    applyFile(store, 'a.yaml', vs('a', '  htpp: []\n'));
    const [rej] = store.listRejections();
    expect(rej.key).toBe('VirtualService/default/a');
    expect(rej.fieldErrors.some((f) => f.path.includes('htpp'))).toBe(true);
    expect(store.get('VirtualService/default/a')).toBeUndefined();
  });

  it('rejects unknown kinds, deletes objects removed from a file, and every object of a removed file', () => {
    const store = new ConfigStore();
    applyFile(store, 'a.yaml', `${vs('a')}---\n${vs('b')}`);
    const r = applyFile(store, 'a.yaml', `${vs('a')}---\napiVersion: x/v1\nkind: Frob\nmetadata: {name: f}\n`);
    expect(r).toEqual({ applied: 0, rejected: 1, deleted: 1 });
    expect(store.get('VirtualService/default/b')).toBeUndefined();
    const [rej] = store.listRejections();
    expect([rej.key, rej.error, rej.fieldErrors]).toEqual([
      'Frob/default/f',
      'unknown kind Frob (x/v1)',
      [{ path: 'kind', message: 'unknown kind' }],
    ]);
    expect(applyFile(store, 'a.yaml', null)).toEqual({ applied: 0, rejected: 0, deleted: 1 });
    expect(store.list()).toEqual([]);
  });

  it('drops the rejections of objects fixed in, or gone from, a file', () => {
    const store = new ConfigStore();
    applyFile(store, 'a.yaml', `${vs('a', '  htpp: []\n')}---\n${vs('b', '  htpp: []\n')}---\nkind: Frob\n`);
    expect(store.listRejections()).toHaveLength(3);
    applyFile(store, 'a.yaml', vs('b', '  htpp: []\n'));
    expect(store.listRejections().map((r) => r.key)).toEqual(['VirtualService/default/b']);
    applyFile(store, 'a.yaml', '{');
    expect(store.listRejections().map((r) => r.key)).toEqual(['VirtualService/default/b', 'file:a.yaml']);
    applyFile(store, 'a.yaml', null);
    expect(store.listRejections()).toEqual([]);
  });

  it('expands List items and skips empty documents', () => {
    const store = new ConfigStore();
    const list = `apiVersion: v1\nkind: List\nitems:\n- ${vs('a').split('\n').join('\n  ')}\n`;
    expect(applyFile(store, 'a.json', `---\n${list}---\n`)).toEqual({ applied: 1, rejected: 0, deleted: 0 });
    expect(store.keysFromSource('a.json')).toEqual(['VirtualService/default/a']);
  });

  it('words refusals with the caller’s errors and logs their codes', () => {
    const store = new ConfigStore();
    const seen: RejectedInput[] = [];
    const logged: unknown[] = [];
    const log = { warn: (fields: unknown) => logged.push(fields) } as unknown as Logger;
    const describe = (r: RejectedInput) => {
      seen.push(r);
      return Object.assign(new Error(`${r.reason} in ${r.source}`), { code: `X_${r.reason}` }) as never;
    };
    applyFile(store, 'a.yaml', `${vs('a', '  htpp: []\n')}---\nkind: Frob\nmetadata: {name: f, namespace: ns1}\n`, {
      describe,
      log,
    });
    applyFile(store, 'b.yaml', '{', { describe, log });
    expect(seen.map((r) => [r.reason, r.key, r.kind, r.namespace, r.name, r.source])).toEqual([
      ['invalid-config', 'VirtualService/default/a', 'VirtualService', 'default', 'a', 'a.yaml'],
      ['unknown-kind', 'Frob/ns1/f', 'Frob', 'ns1', 'f', 'a.yaml'],
      ['invalid-yaml', 'file:b.yaml', 'File', '', 'b.yaml', 'b.yaml'],
    ]);
    expect(seen[2].detail).toBeTruthy();
    expect(store.listRejections().map((r) => r.error)).toEqual([
      'invalid-config in a.yaml',
      'unknown-kind in a.yaml',
      'invalid-yaml in b.yaml',
    ]);
    expect(logged.map((l) => (l as { code: string }).code)).toEqual([
      'X_invalid-config',
      'X_unknown-kind',
      'X_invalid-yaml',
    ]);
  });
});

describe('applyObject (one object, as a Kubernetes watch delivers it)', () => {
  it('refuses what is not an object instead of throwing', () => {
    const store = new ConfigStore();
    for (const input of [null, 'text', 42, [], {}, { kind: 'VirtualService' }])
      expect(applyObject(store, input, 'kube')).toBe('rejected');
    expect(store.list()).toEqual([]);
    expect(store.listRejections().map((r) => r.key)).toEqual(['/default/', 'VirtualService/default/']);
  });

  it('keeps the last good version of a watched object that turns bad', () => {
    const store = new ConfigStore();
    applyObject(store, pod('10.1.0.21'), 'kube');
    const bad = pod('10.1.0.22');
    bad.metadata = { ...bad.metadata, namspace: 'shop' } as MeshObject['metadata'];
    expect(applyObject(store, bad, 'kube')).toBe('rejected');
    expect((store.get('Pod/shop/reviews-v1-abc')?.object['status'] as { podIP: string }).podIP).toBe('10.1.0.21');
    expect(store.listRejections()[0].fieldErrors.map((f) => f.path)).toEqual(['metadata.namspace']);
  });
});

describe('validateMeshObject (the one validator, on objects as written)', () => {
  const paths = (o: unknown) => validateMeshObject(o as MeshObject).map((e) => e.path);

  it('checks Kubernetes kinds too: a misspelt metadata field is refused, not defaulted', () => {
    expect(
      paths({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'reviews', namspace: 'shop' },
        spec: { ports: [{ name: 'http', port: 9080 }] },
      }),
    ).toContain('metadata.namspace');
  });

  it('checks objects from the Kubernetes API (no apiVersion on list items) with the same schema', () => {
    const obj = {
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'default', uid: 'u-1', resourceVersion: '7' },
      spec: { hosts: ['reviews'], htpp: [] },
    };
    expect(paths(obj).some((p) => p.includes('htpp'))).toBe(true);
    expect(
      validateMeshObject({ ...pod('10.1.0.21'), metadata: { ...pod('').metadata, uid: 'u-2' } } as MeshObject),
    ).toEqual([]);
  });

  it('reports every field error with its path and refuses kinds mesh-config does not know', () => {
    const errors = validateMeshObject({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'VirtualService',
      metadata: { name: 'reviews' },
      spec: {
        hosts: ['reviews'],
        http: [
          {
            route: [
              { destination: { host: 'reviews', subset: 'v1' }, weight: 60 },
              { destination: { host: 'reviews', subset: 'v2' }, weight: 30 },
            ],
          },
        ],
      },
    });
    expect(errors).toEqual([{ path: 'spec.http[0].route[0].weight', message: 'weights must sum to 100, got 90' }]);
    expect(
      paths({ apiVersion: 'config.istio.io/v1alpha2', kind: 'memquota', metadata: { name: 'q' }, spec: {} }),
    ).not.toContain('kind');
    expect(paths({ apiVersion: 'x/v1', kind: 'Frobnicator', metadata: { name: 'f' } })).toEqual(['kind']);
  });
});
