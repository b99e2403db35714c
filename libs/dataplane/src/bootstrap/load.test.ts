import { MeshError } from '@tsmesh/core';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@tsmesh/testing';
import { generateBootstrap, parseNodeId } from './generate';
import { bootstrapFromSettings, istioMetaFromEnv } from './proxy-process';
import { extractBootstrap, loadBootstrapFile, parseBootstrap } from './load';

const ADS_BOOTSTRAP = `
node: {id: "sidecar~10.0.0.1~reviews-v1-x.default~default.svc.cluster.local", cluster: reviews}
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 15000}}}
dynamic_resources:
  ads_config: {api_type: GRPC, transport_api_version: V3, grpc_services: [{envoy_grpc: {cluster_name: xds-grpc}}]}
  cds_config: {ads: {}, resource_api_version: V3}
  lds_config: {ads: {}, resource_api_version: V3}
static_resources:
  clusters:
  - name: xds-grpc
    type: STATIC
    connect_timeout: 1s
    http2_protocol_options: {}
    load_assignment: {cluster_name: xds-grpc, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 15010}}}}]}]}
  - name: zipkin
    type: STATIC
    load_assignment: {cluster_name: zipkin, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9411}}}}]}]}
tracing:
  http:
    name: envoy.tracers.zipkin
    typed_config: {"@type": type.googleapis.com/envoy.config.trace.v3.ZipkinConfig, collector_cluster: zipkin, collector_endpoint: /api/v2/spans, collector_endpoint_version: HTTP_JSON}
`;

function codeAndFields(fn: () => unknown): { code: string; paths: string[]; message: string } {
  try {
    fn();
  } catch (e) {
    const m = e as MeshError;
    return { code: m.code, paths: m.fieldErrors.map((f) => f.path), message: m.message };
  }
  throw new Error('expected an error');
}

describe('parseBootstrap', () => {
  it('reads node, admin, the ADS cluster address and the Zipkin collector', () => {
    const b = parseBootstrap(ADS_BOOTSTRAP);
    expect(b.node).toMatchObject({
      id: 'sidecar~10.0.0.1~reviews-v1-x.default~default.svc.cluster.local',
      cluster: 'reviews',
    });
    expect(b.adminAddress).toBe('127.0.0.1:15000');
    expect(b.ads).toEqual({ clusterName: 'xds-grpc', address: '127.0.0.1:15010' });
    expect(b.tracing).toEqual({ collector: '127.0.0.1:9411', path: '/api/v2/spans' });
    expect(b.staticResources.clusters.map((c) => c['name'])).toEqual(['xds-grpc', 'zipkin']);
  });

  it('rejects unknown fields with their path', () => {
    const e = codeAndFields(() => parseBootstrap('node: {id: a}\nadmn: {}\n', 'b.yaml'));
    expect(e.code).toBe('PROXY_ERR_BOOTSTRAP_INVALID');
    expect(e.message).toContain('b.yaml');
    expect(e.message).toContain('admn');
  });

  it('collects every semantic error: missing ADS cluster, duplicate names, unsupported tracer', () => {
    const e = codeAndFields(() =>
      extractBootstrap({
        dynamic_resources: { ads_config: { grpc_services: [{ envoy_grpc: { cluster_name: 'nope' } }] } },
        static_resources: { clusters: [{ name: 'a' }, { name: 'a' }], listeners: [] },
        tracing: { http: { name: 'envoy.tracers.datadog' } },
      }),
    );
    expect(e.code).toBe('PROXY_ERR_BOOTSTRAP_INVALID');
    expect(e.paths).toEqual([
      'static_resources.clusters[1].name',
      'node.id',
      'dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name',
      'tracing.http.name',
    ]);
  });

  it('names the file it cannot read', () => {
    const e = codeAndFields(() => loadBootstrapFile('/nonexistent/bootstrap.yaml'));
    expect(e.code).toBe('PROXY_ERR_BOOTSTRAP_READ');
    expect(e.message).toContain('ENOENT');
  });

  it('loads JSON files too', () => {
    const dir = tempDir('bootstrap-');
    try {
      const file = join(dir.path, 'b.json');
      writeFileSync(file, JSON.stringify({ node: { id: 'x', cluster: 'y' }, static_resources: { clusters: [] } }));
      expect(loadBootstrapFile(file).node.cluster).toBe('y');
    } finally {
      dir.cleanup();
    }
  });
});

describe('generateBootstrap', () => {
  it("builds Istio's sidecar node id, metadata and the xds-grpc ADS cluster", () => {
    const raw = generateBootstrap({
      nodeType: 'sidecar',
      ip: '127.0.0.5',
      podName: 'productpage-v1-abc',
      namespace: 'default',
      serviceCluster: 'productpage',
      labels: { app: 'productpage', version: 'v1' },
      serviceAccount: 'bookinfo-productpage',
      discoveryAddress: 'pilot.local:15010',
      adminAddress: '127.0.0.1:15000',
      zipkinAddress: '127.0.0.1:9411',
    });
    expect(raw['node'].id).toBe('sidecar~127.0.0.5~productpage-v1-abc.default~default.svc.cluster.local');
    expect(raw['node'].metadata).toMatchObject({
      NAMESPACE: 'default',
      LABELS: { app: 'productpage', version: 'v1' },
      INSTANCE_IPS: '127.0.0.5',
      SERVICE_ACCOUNT: 'bookinfo-productpage',
      ISTIO_VERSION: '1.0.0',
      POD_NAME: 'productpage-v1-abc',
    });
    const info = extractBootstrap(raw);
    expect(info.ads).toEqual({ clusterName: 'xds-grpc', address: 'pilot.local:15010' });
    expect(info.staticResources.clusters[0]).toMatchObject({ name: 'xds-grpc', type: 'STRICT_DNS' });
    expect(info.tracing?.collector).toBe('127.0.0.1:9411');
  });

  it('uses a given service node as is and validates it', () => {
    const raw = generateBootstrap({
      nodeType: 'router',
      serviceNode: 'router~10.1.1.1~istio-ingressgateway-1.istio-system~istio-system.svc.cluster.local',
      serviceCluster: 'istio-ingressgateway',
      ip: '127.0.0.1',
      namespace: 'default',
      discoveryAddress: '127.0.0.1:15010',
      adminAddress: '127.0.0.1:0',
    });
    expect(raw['node'].metadata).toMatchObject({
      NAMESPACE: 'istio-system',
      INSTANCE_IPS: '10.1.1.1',
      istio: 'ingressgateway',
    });
    expect(codeAndFields(() => parseNodeId('proxy~1~2~3')).code).toBe('PROXY_ERR_BAD_SERVICE_NODE');
    expect(
      codeAndFields(() =>
        generateBootstrap({
          nodeType: 'sidecar',
          serviceCluster: 'x',
          discoveryAddress: 'nope',
          adminAddress: '127.0.0.1:0',
        }),
      ).code,
    ).toBe('PROXY_ERR_BAD_ADDRESS');
  });
});

describe('settings → bootstrap', () => {
  it('adds ISTIO_META_* and ISTIO_METAJSON_* environment variables to the node metadata', () => {
    expect(
      istioMetaFromEnv({ ISTIO_META_INTERCEPTION_MODE: 'TPROXY', ISTIO_METAJSON_LABELS: '{"app":"x"}', PATH: '/bin' }),
    ).toEqual({
      INTERCEPTION_MODE: 'TPROXY',
      app: 'x',
      LABELS: { app: 'x' },
    });
    const info = bootstrapFromSettings(
      'sidecar',
      {
        configPath: '',
        discoveryAddress: '127.0.0.1:15010',
        serviceNode: '',
        serviceCluster: 'ratings',
        ip: '127.0.0.7',
        podName: 'ratings-v1-x',
        namespace: 'default',
        labels: ['app=ratings', 'version=v1'],
        serviceAccount: 'bookinfo-ratings',
        adminAddress: '127.0.0.1:0',
        prometheusAddress: '',
        healthAddress: '',
        zipkinAddress: '',
        traceSampling: 100,
        accessLogFile: '',
        accessLogEncoding: 'TEXT',
        drainDuration: 1000,
      },
      { ISTIO_META_CLUSTER_ID: 'local' },
    );
    expect(info.node.id).toBe('sidecar~127.0.0.7~ratings-v1-x.default~default.svc.cluster.local');
    expect(info.node.metadata).toMatchObject({ CLUSTER_ID: 'local', LABELS: { app: 'ratings', version: 'v1' } });
  });
});
