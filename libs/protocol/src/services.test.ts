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
  jsonToStruct,
  legacyCaServiceDefinition,
  structToJson,
  type DiscoveryRequest,
  type GrpcStruct,
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
    [legacyCaServiceDefinition, 'istio.v1.auth.IstioCAService', ['HandleCSR']],
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
    const back = ads.requestDeserialize(bytes) as DiscoveryRequest;
    expect(back.node?.id).toBe('sidecar~1~a.b~b.svc');
    expect(back.response_nonce).toBe('n');
    // the same bytes decode with the object-form codec
    expect(decode<DiscoveryRequest>('envoy.service.discovery.v3.DiscoveryRequest', bytes).type_url).toBe('x');
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

describe('Struct in gRPC form', () => {
  it('node.metadata survives the ADS serializer and converts to plain JSON and back', () => {
    const ads = adsServiceDefinition()['StreamAggregatedResources'];
    const metadata = {
      ISTIO_VERSION: '1.0.0',
      LABELS: { app: 'reviews', version: 'v1' },
      PORTS: [9080],
      MTLS: true,
      X: null,
    };
    const bytes = ads.requestSerialize({ node: { id: 'n', metadata: jsonToStruct(metadata) } });
    const req = ads.requestDeserialize(bytes) as { node: { metadata: GrpcStruct } };
    expect(structToJson(req.node.metadata)).toEqual(metadata);
    // and the object-form codec sees the same data as plain JSON
    expect(decode<DiscoveryRequest>('envoy.service.discovery.v3.DiscoveryRequest', bytes).node?.metadata).toEqual(
      metadata,
    );
    expect(structToJson({ fields: { a: { string_value: 'x' }, b: { number_value: 2 } } })).toEqual({ a: 'x', b: 2 });
  });
});
