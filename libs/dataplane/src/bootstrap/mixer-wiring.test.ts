import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import { mixerServiceDefinition } from '@tsmesh/protocol';
import { registerBuiltinFilters } from '../filters/builtin';
import { Host } from '../upstream/host';
import { parseBootstrap } from './load';
import { clusterResolver } from './mixer-wiring';
import { ProxyRuntime } from './proxy-runtime';

const POLICY = 'outbound|9091||istio-policy.istio-system.svc.cluster.local';

describe('clusterResolver', () => {
  const host = (addr: string, port: number, healthy = true) => {
    const h = new Host(addr, port);
    h.edsHealthy = healthy;
    return h;
  };
  const dp = (hosts: Host[] | undefined) => ({
    cluster: (name: string) => (name === POLICY && hosts ? ({ hosts } as never) : undefined),
  });

  it("maps Pilot's Mixer cluster to a healthy endpoint of that cluster, not to the hostname", () => {
    expect(clusterResolver(dp([host('127.0.10.12', 9091, false), host('127.0.10.13', 9091)]))(POLICY)).toBe(
      '127.0.10.13:9091',
    );
  });

  it('falls back to the host named in the cluster when the engine has no endpoints for it', () => {
    expect(clusterResolver(dp(undefined))(POLICY)).toBe('istio-policy.istio-system.svc.cluster.local:9091');
    expect(clusterResolver(dp([]))('127.0.0.1:9091')).toBe('127.0.0.1:9091');
  });
});

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('ProxyRuntime registers the mixer filter', () => {
  const server = new grpc.Server();
  let checks = 0;
  let runtime: ProxyRuntime;

  beforeAll(async () => {
    server.addService(mixerServiceDefinition(), {
      Check: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
        checks++;
        cb(null, {
          precondition: {
            status: { code: 7, message: 'denyall.denier.default:Not allowed' },
            valid_duration: { seconds: 0, nanos: 0 },
            valid_use_count: 0,
          },
        });
      },
      Report: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const bootstrap = parseBootstrap(`
node: {id: "sidecar~127.0.0.1~t.default~default.svc.cluster.local", cluster: t}
static_resources:
  clusters:
  - name: "${POLICY}"
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: "${POLICY}"
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${port}}}}}]}]
  listeners:
  - name: inbound
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: inbound
          route_config: {name: r, virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 200, body: {inline_string: ok}}}]}]}
          http_filters:
          - name: mixer
            typed_config:
              "@type": type.googleapis.com/istio.mixer.v1.config.client.HttpClientConfig
              transport: {check_cluster: "${POLICY}", network_fail_policy: {policy: FAIL_CLOSE}}
              service_configs: {svc: {}}
              default_destination_service: svc
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
`);
    runtime = await ProxyRuntime.start({
      bootstrap,
      nodeType: 'sidecar',
      adminAddress: '',
      registerFilters: registerBuiltinFilters,
      drainMs: 100,
    });
  });

  afterAll(async () => {
    await runtime?.stop(100);
    server.forceShutdown();
  });

  it('checks with the Mixer found through the cluster and answers its denial (403, UAEX)', async () => {
    const res = await get(`http://${runtime.addresses['inbound']}/`);
    expect(res).toEqual({ status: 403, body: 'PERMISSION_DENIED:denyall.denier.default:Not allowed' });
    expect(checks).toBe(1);
  });
});
