// Node metadata from the sidecar's environment (istioMetaFromEnv), as Istio 1.0/1.1's
// pilot-agent built it: ISTIO_META_<KEY> values as they are, and the entries of every
// ISTIO_METAJSON_<KEY> object (the pod's annotations and labels, set by the injector) at the
// top level of the node metadata, beside tsmesh's keyed form (<KEY>: {…}).
import { isMeshError } from '@tsmesh/core';
import { bootstrapFromSettings, istioMetaFromEnv, type ProxyProcessSettings } from './proxy-process';

const SETTINGS: ProxyProcessSettings = {
  configPath: '',
  discoveryAddress: '127.0.0.1:15010',
  serviceNode: '',
  serviceCluster: 'productpage',
  ip: '10.1.0.9',
  podName: 'productpage-v1-abc',
  namespace: 'default',
  labels: [],
  adminAddress: '127.0.0.1:0',
  prometheusAddress: '',
  healthAddress: '',
  zipkinAddress: '',
  traceSampling: 1,
  accessLogFile: '',
  accessLogEncoding: 'TEXT',
  drainDuration: 1000,
};

describe('istioMetaFromEnv', () => {
  it('merges the injector’s annotations and labels into the top level, and keeps the keyed form', () => {
    const meta = istioMetaFromEnv({
      ISTIO_META_INTERCEPTION_MODE: 'REDIRECT',
      ISTIO_META_POD_NAME: 'productpage-v1-abc',
      ISTIO_METAJSON_ANNOTATIONS: '{"policy.istio.io/check":"disable","policy.istio.io/checkRetries":"3"}',
      ISTIO_METAJSON_LABELS: '{"app":"productpage","version":"v1"}',
      HOME: '/root',
    });
    expect(meta).toEqual({
      INTERCEPTION_MODE: 'REDIRECT',
      POD_NAME: 'productpage-v1-abc',
      'policy.istio.io/check': 'disable',
      'policy.istio.io/checkRetries': '3',
      app: 'productpage',
      version: 'v1',
      ANNOTATIONS: { 'policy.istio.io/check': 'disable', 'policy.istio.io/checkRetries': '3' },
      LABELS: { app: 'productpage', version: 'v1' },
    });
  });

  it('precedence: a merged entry beats ISTIO_META_<KEY>; a label beats an annotation; the keyed form is last', () => {
    // environment order must not matter: LABELS is listed before ANNOTATIONS here
    const meta = istioMetaFromEnv({
      ISTIO_METAJSON_LABELS: '{"team":"from-label","LABELS":"a label named LABELS"}',
      ISTIO_METAJSON_ANNOTATIONS: '{"team":"from-annotation","CLUSTER_ID":"from-annotation"}',
      ISTIO_META_CLUSTER_ID: 'from-meta',
      ISTIO_META_team: 'from-meta',
    });
    expect(meta['team']).toBe('from-label');
    expect(meta['CLUSTER_ID']).toBe('from-annotation');
    expect(meta['LABELS']).toEqual({ team: 'from-label', LABELS: 'a label named LABELS' });
  });

  it('merges only string entries of an object; other JSON is kept under its key only; bad JSON is refused', () => {
    expect(istioMetaFromEnv({ ISTIO_METAJSON_X: '{"a":"1","n":2,"o":{"p":"q"},"nil":null}' })).toEqual({
      a: '1',
      X: { a: '1', n: 2, o: { p: 'q' }, nil: null },
    });
    expect(istioMetaFromEnv({ ISTIO_METAJSON_LIST: '["a","b"]', ISTIO_METAJSON_S: '"text"' })).toEqual({
      LIST: ['a', 'b'],
      S: 'text',
    });
    let err: unknown;
    try {
      istioMetaFromEnv({ ISTIO_METAJSON_ANNOTATIONS: '{not json' });
    } catch (e) {
      err = e;
    }
    expect(isMeshError(err)).toBe(true);
    expect((err as { code: string }).code).toBe('PROXY_ERR_BAD_METADATA');
    expect((err as Error).message).toContain('ISTIO_METAJSON_ANNOTATIONS');
  });

  it('the generated bootstrap carries the merged keys; LABELS still feeds the labels, flags winning', () => {
    const info = bootstrapFromSettings(
      'sidecar',
      { ...SETTINGS, labels: ['version=v2'] },
      {
        ISTIO_METAJSON_ANNOTATIONS: '{"policy.istio.io/check":"allow-on-error"}',
        ISTIO_METAJSON_LABELS: '{"app":"productpage","version":"v1"}',
      },
    );
    expect(info.node.metadata).toMatchObject({
      'policy.istio.io/check': 'allow-on-error',
      app: 'productpage',
      version: 'v1',
      NAMESPACE: 'default',
      POD_NAME: 'productpage-v1-abc',
      LABELS: { app: 'productpage', version: 'v2' },
    });
    expect(JSON.parse(info.node.metadata?.['ISTIO_METAJSON_LABELS'] as string)).toEqual({
      app: 'productpage',
      version: 'v2',
    });
  });
});
