/**
 * The built sidecar with a bootstrap generated from flags, configured over ADS by a fake Pilot:
 * not ready before the first complete config, serves Istio-shaped config (EDS cluster via the
 * HTTP proxy listener, inbound listener forwarding to --app-address), NACKs a bad push while
 * serving the old config, and keeps serving while Pilot is gone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TypeUrl } from '@tsmesh/protocol';
import {
  distPath,
  freePort,
  httpRequest,
  startApp,
  stopAllApps,
  waitFor,
  workspaceRoot,
  type AppProcess,
  FakeAds,
} from '@tsmesh/testing';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.ROUTER } }];
const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';
const INBOUND = 'inbound|9080||productpage.default.svc.cluster.local';

const served: string[] = [];
const app = http.createServer((req, res) => {
  served.push(req.url ?? '');
  res.end(`app ${req.url}`);
});

let ads: FakeAds;
let proxy: AppProcess;
let appPort = 0;
let proxyPort = 0;

const sa = (address: string, port: number) => ({ socket_address: { address, port_value: port } });

function clusters() {
  return [
    {
      name: REVIEWS,
      type: 'EDS',
      connect_timeout: { seconds: 1 },
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: REVIEWS },
    },
    {
      name: INBOUND,
      type: 'STATIC',
      connect_timeout: { seconds: 1 },
      load_assignment: {
        cluster_name: INBOUND,
        endpoints: [{ lb_endpoints: [{ endpoint: { address: sa('127.0.0.1', 9080) } }] }],
      },
    },
  ];
}

function listeners(routerLast = true) {
  return [
    {
      name: `127.0.0.1_${proxyPort}`,
      address: sa('127.0.0.1', proxyPort),
      traffic_direction: 'OUTBOUND',
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type': HCM,
                stat_prefix: 'http_proxy',
                rds: { route_config_name: 'http_proxy', config_source: { ads: {}, resource_api_version: 'V3' } },
                http_filters: routerLast
                  ? ROUTER
                  : [...ROUTER, { name: 'envoy.filters.http.fault', typed_config: { '@type': TypeUrl.FAULT } }],
              },
            },
          ],
        },
      ],
    },
    {
      name: '127.0.0.5_9080',
      address: sa('127.0.0.5', 9080),
      traffic_direction: 'INBOUND',
      bind_to_port: { value: false },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type': HCM,
                stat_prefix: INBOUND,
                route_config: {
                  name: 'inbound|http|9080',
                  virtual_hosts: [
                    {
                      name: 'inbound|http|9080',
                      domains: ['*'],
                      routes: [{ match: { prefix: '/' }, route: { cluster: INBOUND } }],
                    },
                  ],
                },
                http_filters: ROUTER,
              },
            },
          ],
        },
      ],
    },
  ];
}

const routes = [
  {
    name: 'http_proxy',
    virtual_hosts: [
      {
        name: 'reviews.default.svc.cluster.local:9080',
        domains: ['reviews.default.svc.cluster.local:9080', 'reviews:9080', 'reviews'],
        routes: [{ match: { prefix: '/' }, route: { cluster: REVIEWS } }],
      },
    ],
  },
];

const endpoints = () => [
  {
    cluster_name: REVIEWS,
    endpoints: [{ locality: {}, lb_endpoints: [{ endpoint: { address: sa('127.0.0.1', appPort) } }] }],
  },
];

beforeAll(async () => {
  if (!existsSync(distPath('proxy'))) {
    execFileSync('npx', ['nx', 'build', 'proxy', '--skip-nx-cache', '--outputStyle=static'], {
      cwd: workspaceRoot,
      env: { ...process.env, NX_DAEMON: 'false' },
      stdio: 'ignore',
    });
  }
  appPort = await new Promise<number>((r) => app.listen(0, '127.0.0.1', () => r((app.address() as AddressInfo).port)));
  proxyPort = await freePort();
  ads = await new FakeAds().start();
  proxy = await startApp('proxy', {
    args: [
      '--discovery-address',
      `127.0.0.1:${ads.port}`,
      '--service-node',
      'sidecar~127.0.0.5~productpage-v1-abc.default~default.svc.cluster.local',
      '--service-cluster',
      'productpage',
      '--labels',
      'app=productpage,version=v1',
      '--admin-address',
      '127.0.0.1:0',
      '--prometheus-address',
      '127.0.0.1:0',
      '--health-address',
      '127.0.0.1:0',
      '--outbound-address',
      '',
      '--inbound-address',
      '127.0.0.1:0',
      '--app-address',
      `127.0.0.1:${appPort}`,
      '--drain-duration',
      '1s',
    ],
    ready: { listeners: ['admin', 'health'] },
  });
}, 120_000);

afterAll(async () => {
  await stopAllApps();
  ads?.stop();
  await new Promise<void>((r) => app.close(() => r()));
});

describe('sidecar configured over ADS', () => {
  it('is not ready before Pilot sent a complete config; sends its node identity first', async () => {
    const first = await waitFor(() => ads.requests[0], { what: 'first DiscoveryRequest' });
    expect(first.node?.id).toBe('sidecar~127.0.0.5~productpage-v1-abc.default~default.svc.cluster.local');
    expect(first.node?.metadata?.fields['NAMESPACE']).toMatchObject({ stringValue: 'default' });
    expect(first.node?.metadata?.fields['LABELS']).toMatchObject({
      structValue: { fields: { version: { stringValue: 'v1' } } },
    });
    expect((await httpRequest(`${proxy.url('admin')}/ready`)).status).toBe(503);
    expect((await httpRequest(`${proxy.url('health')}/healthz/ready`)).status).toBe(503);
    ads.push(TypeUrl.CLUSTER, 'v1', clusters());
    ads.push(TypeUrl.LISTENER, 'v1', listeners());
    await waitFor(
      () => ads.requests.some((r) => r.type_url === TypeUrl.ROUTE && r.resource_names.includes('http_proxy')),
      { what: 'RDS request' },
    );
    expect((await httpRequest(`${proxy.url('admin')}/ready`)).status).toBe(503);
  });

  it('goes LIVE once EDS and RDS complete the config, and serves it', async () => {
    ads.push(TypeUrl.ENDPOINT, 'v1', endpoints());
    ads.push(TypeUrl.ROUTE, 'v1', routes);
    await waitFor(async () => (await httpRequest(`${proxy.url('admin')}/ready`)).status === 200, { what: 'LIVE' });
    const viaProxy = await httpRequest('http://reviews:9080/reviews/0', { proxy: `http://127.0.0.1:${proxyPort}` });
    expect(viaProxy).toMatchObject({ status: 200, body: 'app /reviews/0' });
    await waitFor(() => proxy.addresses['127.0.0.5_9080'], { what: 'inbound listener log line' });
    const inbound = await httpRequest(`${proxy.url('127.0.0.5_9080')}/productpage`);
    expect(inbound).toMatchObject({ status: 200, body: 'app /productpage' });
  });

  it('shows the dynamic config with versions in /config_dump', async () => {
    const dump = JSON.parse((await httpRequest(`${proxy.url('admin')}/config_dump?include_eds`)).body);
    const byType = Object.fromEntries(dump.configs.map((c: { '@type': string }) => [c['@type'].split('.').pop(), c]));
    expect(byType['ClustersConfigDump'].static_clusters[0].cluster.name).toBe('xds-grpc');
    expect(
      byType['ClustersConfigDump'].dynamic_active_clusters
        .map((c: { cluster: { name: string } }) => c.cluster.name)
        .sort(),
    ).toEqual([INBOUND, REVIEWS]);
    expect(byType['ListenersConfigDump'].dynamic_listeners[0].active_state.version_info).toBe('v1');
    expect(byType['RoutesConfigDump'].dynamic_route_configs[0].route_config.name).toBe('http_proxy');
    expect(byType['EndpointsConfigDump'].dynamic_endpoint_configs[0].endpoint_config.cluster_name).toBe(REVIEWS);
    const clusters = (await httpRequest(`${proxy.url('admin')}/clusters`)).body;
    expect(clusters).toContain(`${REVIEWS}::added_via_api::true`);
    expect(clusters).toContain(`${REVIEWS}::127.0.0.1:${appPort}::rq_total::1`);
  });

  it('NACKs an invalid listener push with error_detail and keeps serving the old config', async () => {
    const nonce = ads.push(TypeUrl.LISTENER, 'v2', listeners(false));
    const nack = await waitFor(() => ads.reply(nonce), { what: 'NACK' });
    expect(nack.version_info).toBe('v1');
    expect(nack.error_detail?.message).toMatch(/router/);
    const res = await httpRequest('http://reviews:9080/after-nack', { proxy: `http://127.0.0.1:${proxyPort}` });
    expect(res.status).toBe(200);
    const stats = (await httpRequest(`${proxy.url('admin')}/stats?filter=lds`)).body;
    expect(stats).toContain('listener_manager.lds.update_rejected: 1');
  });

  it('keeps serving while Pilot is unreachable', async () => {
    ads.stop();
    await waitFor(
      async () =>
        (await httpRequest(`${proxy.url('admin')}/stats?filter=connected_state`)).body.includes(
          'control_plane.connected_state: 0',
        ),
      {
        what: 'disconnected',
      },
    );
    const res = await httpRequest('http://reviews:9080/pilot-down', { proxy: `http://127.0.0.1:${proxyPort}` });
    expect(res).toMatchObject({ status: 200, body: 'app /pilot-down' });
    expect((await httpRequest(`${proxy.url('admin')}/ready`)).status).toBe(200);
  });

  it('exits 0 after POST /quitquitquit', async () => {
    expect((await httpRequest(`${proxy.url('admin')}/quitquitquit`, { method: 'POST' })).body).toBe('OK\n');
    expect(await proxy.exited()).toBe(0);
  });
});
