import type { Logger } from '@tsmesh/core';
import { applyObject, ConfigStore } from '@tsmesh/mesh-config';
import { applyFile, pilotApplyOptions } from './apply';

// The bad-input rules themselves are tested with the store (libs/mesh-config/src/store.test.ts, fuzz.test.ts);
// here: Pilot's wording of each refusal, in /debug/configz and in the log.

const vs = (name: string, extra = '') => `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}]}]
${extra}`;

function logInto(codes: string[]): Logger {
  return { warn: (fields: { code: string }) => codes.push(fields.code) } as unknown as Logger;
}

describe('applyFile (Pilot wording)', () => {
  it('refuses a file that is not YAML with PILOT_ERR_INVALID_YAML; its last good objects keep serving', () => {
    const store = new ConfigStore();
    const codes: string[] = [];
    applyFile(store, 'a.yaml', vs('a'));
    const r = applyFile(store, 'a.yaml', 'kind: [', logInto(codes));
    expect(r.fileError).toMatch(/^file a\.yaml: not valid YAML: /);
    expect(store.get('VirtualService/default/a')).toBeDefined();
    expect(store.listRejections().map((x) => x.key)).toEqual(['file:a.yaml']);
    expect(codes).toEqual(['PILOT_ERR_INVALID_YAML']);
  });

  it('refuses a bad field with PILOT_ERR_INVALID_CONFIG and every field error', () => {
    const store = new ConfigStore();
    const codes: string[] = [];
    applyFile(store, 'a.yaml', vs('b', '  htpp: []\n').replace('host: reviews}', 'host: ""}'), logInto(codes));
    const [rej] = store.listRejections();
    expect(rej.error).toMatch(/^file a\.yaml: VirtualService default\/b rejected: /);
    expect(rej.fieldErrors.map((f) => f.path)).toEqual(
      expect.arrayContaining(['spec.http[0].route[0].destination.host', 'spec.htpp']),
    );
    expect(codes).toEqual(['PILOT_ERR_INVALID_CONFIG']);
  });

  it('refuses an unknown kind with PILOT_ERR_UNKNOWN_KIND', () => {
    const store = new ConfigStore();
    const codes: string[] = [];
    applyFile(
      store,
      'a.yaml',
      'apiVersion: x/v1\nkind: Frob\nmetadata: {name: f}\n---\n{metadata: {}}\n',
      logInto(codes),
    );
    expect(store.listRejections().map((x) => x.error)).toEqual([
      'file a.yaml: f: unknown kind Frob',
      'file a.yaml: (unnamed): unknown kind (none)',
    ]);
    expect(codes).toEqual(['PILOT_ERR_UNKNOWN_KIND', 'PILOT_ERR_UNKNOWN_KIND']);
  });

  it('words refusals from the Kubernetes registry the same way (source kube)', () => {
    const store = new ConfigStore();
    const obj = { kind: 'Service', metadata: { name: 'reviews', namespace: 'shop' }, spec: { ports: 'x' } };
    expect(applyObject(store, obj, 'kube', pilotApplyOptions())).toBe('rejected');
    expect(store.listRejections()[0].error).toMatch(/^file kube: Service shop\/reviews rejected: spec\.ports: /);
  });
});
