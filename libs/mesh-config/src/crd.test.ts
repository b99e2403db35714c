import { crdFor, istioCrds, openApiSchema, pluralOf } from './crd';
import { int, intOrStr, map, obj, str } from './schema';

describe('CRDs from the field specs', () => {
  it('names kinds as Istio does', () => {
    expect(pluralOf('VirtualService')).toBe('virtualservices');
    expect(pluralOf('ServiceEntry')).toBe('serviceentries');
    expect(pluralOf('prometheus')).toBe('prometheuses');
    expect(pluralOf('MeshPolicy')).toBe('meshpolicies');
    expect(pluralOf('logentry')).toBe('logentries');
  });

  it('makes structural schemas', () => {
    expect(openApiSchema(obj({ a: int(0, 10), b: map(str()), c: intOrStr() }, { open: true }))).toEqual({
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
      properties: {
        a: { type: 'integer', minimum: 0, maximum: 10 },
        b: { type: 'object', additionalProperties: { type: 'string' } },
        c: { 'x-kubernetes-int-or-string': true },
      },
    });
  });

  it('VirtualService CRD serves every version with the route schema', () => {
    const crd = crdFor('VirtualService') as {
      metadata: { name: string };
      spec: {
        scope: string;
        names: { shortNames: string[] };
        versions: { name: string; storage: boolean; schema: { openAPIV3Schema: Record<string, unknown> } }[];
      };
    };
    expect(crd.metadata.name).toBe('virtualservices.networking.istio.io');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.shortNames).toEqual(['vs']);
    expect(crd.spec.versions.map((v) => [v.name, v.storage])).toEqual([
      ['v1alpha3', true],
      ['v1beta1', false],
      ['v1', false],
    ]);
    const http = (
      crd.spec.versions[0].schema.openAPIV3Schema as {
        properties: { spec: { properties: { http: { items: { properties: Record<string, unknown> } } } } };
      }
    ).properties.spec.properties.http.items.properties;
    expect(http['timeout']).toEqual({ type: 'string' });
    expect(Object.keys(http)).toContain('appendHeaders');
  });

  it('covers every Istio kind and nothing else', () => {
    const names = istioCrds().map((c) => (c['metadata'] as { name: string }).name);
    expect(names).toContain('meshpolicies.authentication.istio.io');
    expect(names).toContain('memquotas.config.istio.io');
    expect(names.some((n) => n.endsWith('.k8s.io') || !n.includes('istio.io'))).toBe(false);
    expect(crdFor('MeshPolicy')['spec']).toMatchObject({ scope: 'Cluster' });
  });
});
