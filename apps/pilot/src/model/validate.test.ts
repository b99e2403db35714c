import { isKnownKind, validateObject } from './validate';
import type { MeshObject } from './store';

const paths = (o: unknown) => validateObject(o as MeshObject).map((e) => e.path);

describe('validateObject (one validator: @tsmesh/mesh-config)', () => {
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
    const vs = {
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'default', uid: 'u-1', resourceVersion: '7' },
      spec: { hosts: ['reviews'], htpp: [] },
    };
    expect(paths(vs).some((p) => p.includes('htpp'))).toBe(true);
    const pod = {
      kind: 'Pod',
      metadata: {
        name: 'reviews-v1-abc',
        namespace: 'default',
        uid: 'u-2',
        resourceVersion: '8',
        creationTimestamp: '2026-11-23T08:00:00Z',
        labels: { app: 'reviews', version: 'v1' },
      },
      spec: { serviceAccountName: 'bookinfo-reviews', containers: [{ name: 'reviews', image: 'x' }] },
      status: { podIP: '10.1.0.21', phase: 'Running' },
    };
    expect(validateObject(pod as unknown as MeshObject)).toEqual([]);
  });

  it('reports every field error with its path and knows the kinds mesh-config knows', () => {
    const errors = validateObject({
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
    expect(errors.map((e) => e.path).join(' ')).toMatch(/spec\.http\[0\]\.route/);
    expect(isKnownKind('memquota')).toBe(true);
    expect(isKnownKind('Frobnicator')).toBe(false);
    expect(paths({ apiVersion: 'x/v1', kind: 'Frobnicator', metadata: { name: 'f' } })).toEqual(['kind']);
  });
});
