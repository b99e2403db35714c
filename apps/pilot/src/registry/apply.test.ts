import { ConfigStore } from '../model/store';
import { applyFile } from './apply';

const vs = (name: string, extra = '') => `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}]}]
${extra}`;

describe('applyFile (bad-input rules)', () => {
  it('keeps the last good objects of a file that stops parsing', () => {
    const store = new ConfigStore();
    applyFile(store, 'a.yaml', vs('a'));
    const r = applyFile(store, 'a.yaml', 'kind: [');
    expect(r.fileError).toMatch(/a\.yaml: not valid YAML/);
    expect(store.get('VirtualService/default/a')).toBeDefined();
    expect(store.listRejections().map((x) => x.key)).toEqual(['file:a.yaml']);
  });

  it('rejects one bad object, keeps its last good version and the other objects', () => {
    const store = new ConfigStore();
    applyFile(store, 'a.yaml', `${vs('a')}---\n${vs('b')}`);
    const r = applyFile(store, 'a.yaml', `${vs('a')}---\n${vs('b').replace('host: reviews}', 'host: ""}')}`);
    expect(r.rejected).toBe(1);
    expect(store.get('VirtualService/default/b')).toBeDefined();
    const rej = store.listRejections()[0];
    expect(rej.key).toBe('VirtualService/default/b');
    expect(rej.fieldErrors.map((f) => f.path)).toContain('spec.http[0].route[0].destination.host');
  });

  it('uses mesh-config schema validation too: an unknown field is rejected with its path', () => {
    const store = new ConfigStore();
    applyFile(store, 'a.yaml', vs('a', '  htpp: []\n'));
    const rej = store.listRejections()[0];
    expect(rej.key).toBe('VirtualService/default/a');
    expect(rej.fieldErrors.some((f) => f.path.includes('htpp'))).toBe(true);
    expect(store.get('VirtualService/default/a')).toBeUndefined();
  });

  it('rejects unknown kinds and deletes objects removed from a file', () => {
    const store = new ConfigStore();
    applyFile(store, 'a.yaml', `${vs('a')}---\n${vs('b')}`);
    const r = applyFile(store, 'a.yaml', `${vs('a')}---\napiVersion: x/v1\nkind: Frob\nmetadata: {name: f}\n`);
    expect(r.deleted).toBe(1);
    expect(store.get('VirtualService/default/b')).toBeUndefined();
    expect(store.listRejections()[0].error).toMatch(/unknown kind Frob/);
    applyFile(store, 'a.yaml', null);
    expect(store.list()).toEqual([]);
  });
});
