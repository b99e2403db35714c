import { labelsFromValue, withLabelsMetadata } from './node-metadata';
import { bootstrapFromSettings, type ProxyProcessSettings } from './proxy-process';

const settings = (labels: string[]): ProxyProcessSettings => ({
  configPath: '',
  discoveryAddress: '127.0.0.1:15010',
  serviceNode: '',
  serviceCluster: 'istio-ingressgateway',
  ip: '127.0.0.9',
  podName: 'istio-ingressgateway-1',
  namespace: 'istio-system',
  labels,
  adminAddress: '127.0.0.1:0',
  prometheusAddress: '',
  healthAddress: '',
  zipkinAddress: '',
  traceSampling: 100,
  accessLogFile: '',
  accessLogEncoding: 'TEXT',
  drainDuration: 0,
});

describe('LABELS node metadata', () => {
  it('reads labels given as an object, JSON text or k=v list', () => {
    expect(labelsFromValue({ app: 'x', n: 1 })).toEqual({ app: 'x', n: '1' });
    expect(labelsFromValue('{"app":"x","version":"v1"}')).toEqual({ app: 'x', version: 'v1' });
    expect(labelsFromValue('app=x, version=v1')).toEqual({ app: 'x', version: 'v1' });
    expect(labelsFromValue('{broken')).toEqual({});
    expect(labelsFromValue(['a'])).toEqual({});
  });

  it('sends LABELS as a map and ISTIO_METAJSON_LABELS as its JSON text; flags win', () => {
    const m = withLabelsMetadata({ LABELS: '{"app":"a","istio":"ingressgateway"}' }, { app: 'b' });
    expect(m['LABELS']).toEqual({ app: 'b', istio: 'ingressgateway' });
    expect(JSON.parse(m['ISTIO_METAJSON_LABELS'] as string)).toEqual({ app: 'b', istio: 'ingressgateway' });
  });

  it('a gateway started from flags with ISTIO_META_LABELS (JSON text) in its environment sends LABELS as a map', () => {
    const env = { ISTIO_META_LABELS: '{"istio":"ingressgateway","app":"istio-ingressgateway"}' };
    const meta = bootstrapFromSettings('router', settings([]), env).node.metadata as Record<string, unknown>;
    expect(meta['LABELS']).toEqual({ istio: 'ingressgateway', app: 'istio-ingressgateway' });
    expect(typeof meta['ISTIO_METAJSON_LABELS']).toBe('string');
    const fromFlags = bootstrapFromSettings('sidecar', settings(['app=ratings', 'version=v1']), {}).node.metadata;
    expect(fromFlags?.['LABELS']).toEqual({ app: 'ratings', version: 'v1' });
    expect(fromFlags?.['ISTIO_METAJSON_LABELS']).toBe('{"app":"ratings","version":"v1"}');
  });
});
