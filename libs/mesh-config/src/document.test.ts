import { validateDocument } from './document';
import { formatConfigErrors } from './types/object';

describe('validateDocument', () => {
  it('validates a parsed document such as an AdmissionReview object', () => {
    const r = validateDocument({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'DestinationRule',
      metadata: { name: 'reviews', namespace: 'bookinfo' },
      spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] },
    });
    expect(r.errors).toEqual([]);
    expect(r.object?.metadata.namespace).toBe('bookinfo');
  });

  it('returns field errors ready to print', () => {
    const r = validateDocument(
      {
        apiVersion: 'networking.istio.io/v1beta1',
        kind: 'DestinationRule',
        metadata: { name: 'reviews' },
        spec: { host: 'reviews', exportTo: ['Bad_NS'], trafficPolicy: { loadBalancer: { simple: 'FASTEST' } } },
      },
      { file: 'admission' },
    );
    expect(r.object).toBeUndefined();
    expect(formatConfigErrors(r.errors)).toBe(
      [
        'admission:1: DestinationRule default/reviews: spec.trafficPolicy.loadBalancer.simple: must be one of UNSPECIFIED, ROUND_ROBIN, LEAST_CONN, RANDOM, PASSTHROUGH, LEAST_REQUEST, got "FASTEST"',
        'admission:1: DestinationRule default/reviews: spec.exportTo[0]: "Bad_NS" is not ".", "*", "~" or a namespace name',
      ].join('\n'),
    );
  });

  it('refuses things that are not objects', () => {
    expect(validateDocument([1]).errors[0].message).toBe('not a config object: document is a list, not an object');
    expect(validateDocument({ kind: 'Service' }).errors[0].message).toBe('not a config object: missing apiVersion');
  });
});
