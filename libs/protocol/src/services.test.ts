import * as grpc from '@grpc/grpc-js';
import {
  adsServiceDefinition,
  caServiceDefinition,
  cdsServiceDefinition,
  csdsServiceDefinition,
  decode,
  edsServiceDefinition,
  encode,
  ldsServiceDefinition,
  mixerServiceDefinition,
  rdsServiceDefinition,
  sdsServiceDefinition,
} from './index';

describe('gRPC service definitions', () => {
  it.each([
    [
      adsServiceDefinition,
      'envoy.service.discovery.v3.AggregatedDiscoveryService',
      ['StreamAggregatedResources', 'DeltaAggregatedResources'],
    ],
    [ldsServiceDefinition, 'envoy.service.listener.v3.ListenerDiscoveryService', ['StreamListeners', 'FetchListeners']],
    [rdsServiceDefinition, 'envoy.service.route.v3.RouteDiscoveryService', ['StreamRoutes', 'FetchRoutes']],
    [cdsServiceDefinition, 'envoy.service.cluster.v3.ClusterDiscoveryService', ['StreamClusters', 'FetchClusters']],
    [edsServiceDefinition, 'envoy.service.endpoint.v3.EndpointDiscoveryService', ['StreamEndpoints', 'FetchEndpoints']],
    [sdsServiceDefinition, 'envoy.service.secret.v3.SecretDiscoveryService', ['StreamSecrets', 'FetchSecrets']],
    [
      csdsServiceDefinition,
      'envoy.service.status.v3.ClientStatusDiscoveryService',
      ['StreamClientStatus', 'FetchClientStatus'],
    ],
    [mixerServiceDefinition, 'istio.mixer.v1.Mixer', ['Check', 'Report']],
    [caServiceDefinition, 'istio.v1.auth.IstioCertificateService', ['CreateCertificate']],
  ])('%p loads %s', (load, service, methods) => {
    const def = load();
    for (const m of methods) {
      expect(def[m].path).toBe(`/${service}/${m}`);
    }
    expect(() => grpc.makeGenericClientConstructor(def, service)).not.toThrow();
  });

  it('ADS streams both ways and serializes DiscoveryRequest with snake_case fields', () => {
    const ads = adsServiceDefinition()['StreamAggregatedResources'];
    expect(ads.requestStream).toBe(true);
    expect(ads.responseStream).toBe(true);
    const bytes = ads.requestSerialize({ node: { id: 'sidecar~1~a.b~b.svc' }, type_url: 'x', response_nonce: 'n' });
    const back = ads.requestDeserialize(bytes) as Record<string, any>;
    expect(back['node'].id).toBe('sidecar~1~a.b~b.svc');
    expect(back['response_nonce']).toBe('n');
    // the same bytes decode with the object-form codec
    expect(decode<Record<string, any>>('envoy.service.discovery.v3.DiscoveryRequest', bytes)['type_url']).toBe('x');
  });

  it('CA CreateCertificate uses Istio field numbers (csr = 1, validity_duration = 3)', () => {
    const m = caServiceDefinition()['CreateCertificate'];
    const bytes = m.requestSerialize({ csr: 'CSR', validity_duration: 3600 });
    // field 1 (string) then field 3 (varint)
    expect([...bytes]).toEqual([0x0a, 3, 0x43, 0x53, 0x52, 0x18, 0x90, 0x1c]);
    const res = m.responseDeserialize(
      encode('istio.v1.auth.IstioCertificateResponse', { cert_chain: ['leaf', 'root'] }),
    );
    expect(res).toEqual({ cert_chain: ['leaf', 'root'] });
  });
});
