/**
 * The built sidecar started from an Envoy bootstrap file (`--config-path`) whose
 * `dynamic_resources.ads_config` names a static cluster pointing at a fake ADS server on port 0:
 * it connects with the bootstrap's node, ACKs a listener and a cluster, and serves a request to a
 * real upstream through them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TypeUrl } from '@tsmesh/protocol';
import { ensureBuilt, FakeAds, httpRequest, startApp, stopAllApps, waitFor, type AppProcess } from '@tsmesh/testing';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const NODE_ID = 'sidecar~127.0.0.1~boot-1.default~default.svc.cluster.local';
const sa = (address: string, port: number) => ({ socket_address: { address, port_value: port } });

const upstream = http.createServer((req, res) => res.end(`upstream ${req.url} via ${req.headers['host']}`));
let upstreamPort = 0;
let ads: FakeAds;
let proxy: AppProcess;
let dir = '';

const bootstrapYaml = (adsPort: number) => `
node: {id: "${NODE_ID}", cluster: boot}
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services: [{envoy_grpc: {cluster_name: xds-grpc}}]
  cds_config: {ads: {}, resource_api_version: V3}
  lds_config: {ads: {}, resource_api_version: V3}
static_resources:
  clusters:
  - name: xds-grpc
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}
    load_assignment:
      cluster_name: xds-grpc
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${adsPort}}}}}]}]
`;

const cluster = () => ({
  name: 'backend',
  type: 'STATIC',
  connect_timeout: { seconds: 1 },
  load_assignment: {
    cluster_name: 'backend',
    endpoints: [{ lb_endpoints: [{ endpoint: { address: sa('127.0.0.1', upstreamPort) } }] }],
  },
});

const listener = {
  name: 'front',
  address: sa('127.0.0.1', 0),
  filter_chains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': HCM,
            stat_prefix: 'front',
            route_config: {
              name: 'front',
              virtual_hosts: [
                { name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] },
              ],
            },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.ROUTER } }],
          },
        },
      ],
    },
  ],
};

beforeAll(async () => {
  ensureBuilt('proxy');
  upstreamPort = await new Promise<number>((r) =>
    upstream.listen(0, '127.0.0.1', () => r((upstream.address() as AddressInfo).port)),
  );
  ads = await new FakeAds().start();
  dir = mkdtempSync(join(tmpdir(), 'tsmesh-bootstrap-ads-'));
  const file = join(dir, 'bootstrap.yaml');
  writeFileSync(file, bootstrapYaml(ads.port));
  proxy = await startApp('proxy', {
    args: [
      '--config-path',
      file,
      '--prometheus-address',
      '127.0.0.1:0',
      '--health-address',
      '127.0.0.1:0',
      '--outbound-address',
      '',
      '--inbound-address',
      '',
      '--drain-duration',
      '1s',
    ],
    ready: { listeners: ['admin', 'health'] },
  });
}, 120_000);

afterAll(async () => {
  await stopAllApps();
  ads?.stop();
  await new Promise<void>((r) => upstream.close(() => r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('sidecar from a bootstrap file with ads_config', () => {
  it('connects to the ADS cluster named in the bootstrap with the bootstrap node', async () => {
    const first = await waitFor(() => ads.requests[0], { what: 'first DiscoveryRequest' });
    expect(first.node?.id).toBe(NODE_ID);
    expect((await httpRequest(`${proxy.url('admin')}/ready`)).status).toBe(503);
  });

  it('ACKs a cluster and a listener, goes LIVE and serves a request to the upstream', async () => {
    await waitFor(() => ads.requests.some((r) => r.type_url === TypeUrl.CLUSTER), { what: 'CDS request' });
    const cds = ads.push(TypeUrl.CLUSTER, 'c1', [cluster()]);
    await waitFor(() => ads.requests.some((r) => r.type_url === TypeUrl.LISTENER), { what: 'LDS request' });
    const lds = ads.push(TypeUrl.LISTENER, 'l1', [listener]);
    const cdsAck = await waitFor(() => ads.reply(cds), { what: 'CDS ACK' });
    const ldsAck = await waitFor(() => ads.reply(lds), { what: 'LDS ACK' });
    expect([cdsAck.version_info, cdsAck.error_detail ?? null]).toEqual(['c1', null]);
    expect([ldsAck.version_info, ldsAck.error_detail ?? null]).toEqual(['l1', null]);
    await waitFor(async () => (await httpRequest(`${proxy.url('admin')}/ready`)).status === 200, { what: 'LIVE' });
    await waitFor(() => proxy.addresses['front'], { what: 'front listening' });
    const res = await httpRequest(`${proxy.url('front')}/hello`);
    expect(res).toMatchObject({ status: 200, body: expect.stringMatching(/^upstream \/hello via /) });
    const stats = (await httpRequest(`${proxy.url('admin')}/stats?filter=cluster.backend.upstream_rq_total`)).body;
    expect(stats).toContain('cluster.backend.upstream_rq_total: 1');
  });
});
