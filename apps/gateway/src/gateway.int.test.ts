/**
 * The built gateway (router node) configured over ADS with Gateway-shaped listeners: `0.0.0.0_80`
 * (RDS `http.80`, one host with httpsRedirect) and `0.0.0.0_443` terminating TLS by SNI (RDS
 * `https.443.https`), bound locally through --port-map.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { TypeUrl } from '@tsmesh/protocol';
import {
  distPath,
  httpRequest,
  makeTestCert,
  startApp,
  stopAllApps,
  waitFor,
  workspaceRoot,
  type AppProcess,
  FakeAds,
} from '@tsmesh/testing';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const ROUTER = [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.ROUTER } }];
const PRODUCTPAGE = 'outbound|9080||productpage.default.svc.cluster.local';
const cert = makeTestCert('bookinfo.example.com', { dns: ['bookinfo.example.com'] });
const cert2 = makeTestCert('reviews.example.com', { dns: ['reviews.example.com'] });

const app = http.createServer((req, res) =>
  res.end(`productpage ${req.url} via ${req.headers['x-forwarded-proto'] ?? '-'}`),
);
let ads: FakeAds;
let gw: AppProcess;

const sa = (address: string, port: number) => ({ socket_address: { address, port_value: port } });
const hcm = (statPrefix: string, route: string) => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: {
    '@type': HCM,
    stat_prefix: statPrefix,
    rds: { route_config_name: route, config_source: { ads: {} } },
    http_filters: ROUTER,
  },
});

function httpsGet(
  address: string,
  path: string,
  servername: string,
  ca = cert.ca,
): Promise<{ status: number; body: string }> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host, port, path, servername, ca, headers: { host: servername }, agent: false },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  if (!existsSync(distPath('gateway'))) {
    execFileSync('npx', ['nx', 'build', 'gateway', '--skip-nx-cache', '--outputStyle=static'], {
      cwd: workspaceRoot,
      env: { ...process.env, NX_DAEMON: 'false' },
      stdio: 'ignore',
    });
  }
  const appPort = await new Promise<number>((r) =>
    app.listen(0, '127.0.0.1', () => r((app.address() as AddressInfo).port)),
  );
  ads = await new FakeAds().start();
  gw = await startApp('gateway', {
    args: [
      '--discovery-address',
      `127.0.0.1:${ads.port}`,
      '--admin-address',
      '127.0.0.1:0',
      '--prometheus-address',
      '127.0.0.1:0',
      '--health-address',
      '127.0.0.1:0',
      '--port-map',
      '80=127.0.0.1:0,443=127.0.0.1:0',
      '--drain-duration',
      '1s',
    ],
    ready: { listeners: ['admin'] },
  });
  await waitFor(() => ads.requests.length >= 2, { what: 'CDS and LDS requests' });
  ads.push(TypeUrl.CLUSTER, 'v1', [
    {
      name: PRODUCTPAGE,
      type: 'STATIC',
      connect_timeout: { seconds: 1 },
      load_assignment: {
        cluster_name: PRODUCTPAGE,
        endpoints: [{ lb_endpoints: [{ endpoint: { address: sa('127.0.0.1', appPort) } }] }],
      },
    },
  ]);
  ads.push(TypeUrl.LISTENER, 'v1', [
    { name: '0.0.0.0_80', address: sa('0.0.0.0', 80), filter_chains: [{ filters: [hcm('http.80', 'http.80')] }] },
    {
      name: '0.0.0.0_443',
      address: sa('0.0.0.0', 443),
      filter_chains: [
        {
          filter_chain_match: { server_names: ['bookinfo.example.com'] },
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': TLS,
              common_tls_context: {
                tls_certificates: [
                  { certificate_chain: { inline_string: cert.cert }, private_key: { inline_string: cert.key } },
                ],
                alpn_protocols: ['http/1.1'],
              },
            },
          },
          filters: [hcm('https.443.https', 'https.443.https')],
        },
        {
          filter_chain_match: { server_names: ['reviews.example.com'] },
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': TLS,
              common_tls_context: {
                tls_certificates: [
                  { certificate_chain: { inline_string: cert2.cert }, private_key: { inline_string: cert2.key } },
                ],
                alpn_protocols: ['http/1.1'],
              },
            },
          },
          filters: [hcm('https.443.reviews', 'https.443.https')],
        },
      ],
    },
  ]);
  ads.push(TypeUrl.ROUTE, 'v1', [
    {
      name: 'http.80',
      virtual_hosts: [
        {
          name: 'bookinfo.example.com:80',
          domains: ['bookinfo.example.com', 'bookinfo.example.com:*'],
          require_tls: 'ALL',
        },
        { name: '*:80', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: PRODUCTPAGE } }] },
      ],
    },
    {
      name: 'https.443.https',
      virtual_hosts: [
        {
          name: 'bookinfo.example.com:443',
          domains: ['*'],
          routes: [{ match: { prefix: '/' }, route: { cluster: PRODUCTPAGE } }],
        },
      ],
    },
  ]);
  await waitFor(async () => (await httpRequest(`${gw.url('admin')}/ready`)).status === 200, { what: 'gateway LIVE' });
  await waitFor(() => gw.addresses['0.0.0.0_80'] && gw.addresses['0.0.0.0_443'], { what: 'gateway listeners' });
}, 120_000);

afterAll(async () => {
  await stopAllApps();
  ads?.stop();
  await new Promise<void>((r) => app.close(() => r()));
});

describe('gateway', () => {
  it('identifies as a router node with the ingressgateway labels', () => {
    const node = ads.requests[0].node;
    expect(node?.id).toBe('router~127.0.0.1~istio-ingressgateway.istio-system~istio-system.svc.cluster.local');
    expect(node?.metadata?.fields['LABELS']).toMatchObject({
      structValue: { fields: { istio: { stringValue: 'ingressgateway' } } },
    });
  });

  it('serves plain HTTP on the mapped port 80 listener', async () => {
    const res = await httpRequest(`${gw.url('0.0.0.0_80')}/productpage`, { headers: { host: 'anything.local' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/^productpage \/productpage/);
  });

  it('redirects an httpsRedirect host to https', async () => {
    const res = await httpRequest(`${gw.url('0.0.0.0_80')}/productpage`, { headers: { host: 'bookinfo.example.com' } });
    expect(res.status).toBe(301);
    expect(res.headers['location']).toBe('https://bookinfo.example.com/productpage');
  });

  it('terminates TLS by SNI on the mapped 443 listener', async () => {
    const res = await httpsGet(gw.addresses['0.0.0.0_443'], '/productpage', 'bookinfo.example.com');
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/^productpage \/productpage/);
    // The second host's certificate only validates against its own CA: SNI picked its chain.
    const other = await httpsGet(gw.addresses['0.0.0.0_443'], '/reviews', 'reviews.example.com', cert2.ca);
    expect(other.status).toBe(200);
    await expect(httpsGet(gw.addresses['0.0.0.0_443'], '/x', 'reviews.example.com', cert.ca)).rejects.toThrow();
  });
});
