import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { registerBuiltinFilters } from '../filters/builtin';
import { parseBootstrap } from './load';
import { ProxyRuntime } from './proxy-runtime';

const listener = (name: string, port: number) => `
  - name: ${name}
    address: {socket_address: {address: 127.0.0.1, port_value: ${port}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ${name}
          route_config: {name: r, virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 200, body: {inline_string: "${name} ok"}}}]}]}
          http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]`;

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

describe('ProxyRuntime with a static bootstrap', () => {
  const blocker = net.createServer();
  let runtime: ProxyRuntime;

  beforeAll(async () => {
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as AddressInfo).port;
    const bootstrap = parseBootstrap(`
node: {id: "sidecar~127.0.0.1~t.default~default.svc.cluster.local", cluster: t}
static_resources:
  listeners:${listener('taken', taken)}${listener('free', 0)}
`);
    runtime = await ProxyRuntime.start({
      bootstrap,
      nodeType: 'sidecar',
      adminAddress: '127.0.0.1:0',
      registerFilters: registerBuiltinFilters,
      drainMs: 100,
    });
  });

  afterAll(async () => {
    await runtime.stop(100);
    await new Promise<void>((r) => blocker.close(() => r()));
  });

  it('goes LIVE with the listeners that could bind and counts the one that could not', async () => {
    expect(runtime.state()).toBe('LIVE');
    expect(runtime.addresses['taken']).toBeUndefined();
    expect(await get(`http://${runtime.addresses['free']}/`)).toEqual({ status: 200, body: 'free ok' });
    expect(runtime.stats.value('listener_manager.listener_create_failure')).toBe(1);
    expect(runtime.stats.value('server.live')).toBe(1);
  });

  it('serves its admin API on the bound address', async () => {
    const res = await get(`http://${runtime.addresses['admin']}/listeners`);
    expect(res.body).toBe(`free::${runtime.addresses['free']}\n`);
  });
});
