/**
 * A sidecar started while Pilot is down (reliability checklist F2): not ready and no data
 * listener bound until Pilot appears and sends a complete config; then it reconnects on its own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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

let ads: FakeAds | undefined;
let proxy: AppProcess;
let pilotPort = 0;

beforeAll(async () => {
  if (!existsSync(distPath('proxy'))) {
    execFileSync('npx', ['nx', 'build', 'proxy', '--skip-nx-cache', '--outputStyle=static'], {
      cwd: workspaceRoot,
      env: { ...process.env, NX_DAEMON: 'false' },
      stdio: 'ignore',
    });
  }
  pilotPort = await freePort();
  proxy = await startApp('proxy', {
    args: [
      '--discovery-address',
      `127.0.0.1:${pilotPort}`,
      '--admin-address',
      '127.0.0.1:0',
      '--prometheus-address',
      '',
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
});

it('stays not ready while Pilot is down, then goes LIVE once Pilot answers', async () => {
  await waitFor(
    async () =>
      (await httpRequest(`${proxy.url('admin')}/stats?filter=streams_opened`)).body.match(
        /streams_opened: ([2-9]|\d\d)/,
      ),
    { what: 'at least one reconnect attempt' },
  );
  expect((await httpRequest(`${proxy.url('health')}/healthz/ready`)).status).toBe(503);
  expect((await httpRequest(`${proxy.url('admin')}/listeners`)).body).toBe('');

  ads = await new FakeAds().start(pilotPort);
  await waitFor(() => (ads?.requests.length ?? 0) >= 2, {
    what: 'CDS and LDS requests after Pilot came up',
    timeoutMs: 40_000,
  });
  ads.push(TypeUrl.CLUSTER, 'v1', []);
  ads.push(TypeUrl.LISTENER, 'v1', [
    {
      name: 'late',
      address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type': TypeUrl.HTTP_CONNECTION_MANAGER,
                stat_prefix: 'late',
                route_config: {
                  name: 'r',
                  virtual_hosts: [
                    {
                      name: 'v',
                      domains: ['*'],
                      routes: [
                        {
                          match: { prefix: '/' },
                          direct_response: { status: 200, body: { inline_string: 'late ok' } },
                        },
                      ],
                    },
                  ],
                },
                http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.ROUTER } }],
              },
            },
          ],
        },
      ],
    },
  ]);
  await waitFor(async () => (await httpRequest(`${proxy.url('health')}/healthz/ready`)).status === 200, {
    what: 'LIVE',
  });
  await waitFor(() => proxy.addresses['late'], { what: 'late listener' });
  expect((await httpRequest(`${proxy.url('late')}/`)).body).toBe('late ok');
}, 60_000);
