import { loadYaml } from './loader';
import { ConfigStore, type ChangeEvent } from './store';
import { formatConfigError } from './types/object';

const vs = (weights: [number, number]) =>
  loadYaml(
    `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: ${weights[0]}
    - destination: {host: reviews, subset: v2}
      weight: ${weights[1]}
`,
    'reviews.yaml',
  ).objects;

const dr = loadYaml(
  `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`,
  'dr.yaml',
).objects;

describe('ConfigStore', () => {
  it('keeps the last good version when a bad one arrives', () => {
    const store = new ConfigStore();
    const events: ChangeEvent[] = [];
    store.onChange((e) => events.push(e));
    const first = store.apply([...dr, ...vs([50, 50])]);
    expect(first.rejected).toEqual([]);
    expect(first.warnings).toEqual([]);
    expect(store.revision).toBe(1);

    const bad = store.apply(vs([50, 40]));
    expect(bad.rejected.map(formatConfigError)).toEqual([
      'reviews.yaml:9: VirtualService default/reviews: spec.http[0].route[0].weight: weights must sum to 100, got 90',
    ]);
    expect(store.revision).toBe(1);
    const kept = store.get<{ http: { route: { weight: number }[] }[] }>('VirtualService', 'default', 'reviews');
    expect(kept?.spec.http[0].route.map((r) => r.weight)).toEqual([50, 50]);
    expect(store.rejected().map((r) => r.key)).toEqual(['VirtualService/default/reviews']);

    store.apply(vs([20, 80]));
    expect(store.revision).toBe(2);
    expect(store.get('VirtualService', 'default', 'reviews')?.metadata.resourceVersion).toBe('2');
    expect(store.get('DestinationRule', 'default', 'reviews')?.metadata.resourceVersion).toBe('1');
    expect(store.rejected()).toEqual([]);
    expect(events.map((e) => [e.revision, e.kinds])).toEqual([
      [1, ['DestinationRule', 'VirtualService']],
      [2, ['VirtualService']],
    ]);
  });

  it('does not bump the revision for unchanged objects and lists by kind', () => {
    const store = new ConfigStore();
    store.apply([...dr, ...vs([50, 50])]);
    const again = store.apply([...dr, ...vs([50, 50])]);
    expect(again.changed).toEqual([]);
    expect(store.revision).toBe(1);
    expect(store.list('DestinationRule').map((o) => o.metadata.name)).toEqual(['reviews']);
    expect(store.list()).toHaveLength(2);
  });

  it('warns with context from objects already in the store', () => {
    const store = new ConfigStore();
    store.apply(dr);
    const res = store.apply(
      loadYaml(`apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v3}
`).objects,
    );
    expect(res.warnings.map((w) => w.message)).toEqual([
      'subset v3 is not defined in the DestinationRule for reviews.default.svc.cluster.local',
    ]);
  });

  it('deletes and replaces', () => {
    const store = new ConfigStore();
    store.apply([...dr, ...vs([50, 50])]);
    expect(store.delete(['DestinationRule/default/reviews', 'Gateway/default/none'])).toEqual([
      'DestinationRule/default/reviews',
    ]);
    expect(store.revision).toBe(2);
    expect(store.warnings().map((w) => w.message)).toEqual([
      'subset v1 of host reviews is not defined: no DestinationRule for reviews.default.svc.cluster.local',
      'subset v2 of host reviews is not defined: no DestinationRule for reviews.default.svc.cluster.local',
    ]);
    store.replace(dr);
    expect(store.list().map((o) => o.kind)).toEqual(['DestinationRule']);
  });

  it('a throwing listener does not break writes', () => {
    const store = new ConfigStore();
    let seen = 0;
    store.onChange(() => {
      throw new Error('boom');
    });
    store.onChange(() => (seen += 1));
    store.apply(dr);
    expect(seen).toBe(1);
  });
});

describe('ConfigStore with objects built by hand', () => {
  it('refuses malformed objects instead of throwing', () => {
    const store = new ConfigStore();
    const bad = [
      { apiVersion: 'v1', kind: 'Service' },
      { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'x' }, spec: 'nope' },
    ] as unknown as Parameters<ConfigStore['apply']>[0];
    const res = store.apply(bad);
    expect(res.applied).toEqual([]);
    expect(res.rejected.map((e) => `${e.kind} ${e.path}: ${e.message}`)).toEqual([
      'Service metadata.name: required field is missing',
      'VirtualService spec: expected object, got string',
    ]);
  });
});
