/**
 * Trace sampling end to end: the built sidecar from a static bootstrap with Envoy's Zipkin tracer
 * pointed at a fake collector. With the listener's `tracing.random_sampling` at 0 % (over a
 * process default of 100 %), a request without a decision produces no span and goes upstream
 * marked unsampled; `x-b3-sampled: 1` forces a span.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  ensureBuilt,
  httpRequest,
  startApp,
  startZipkinCollector,
  stopAllApps,
  tempDir,
  waitFor,
  type AppProcess,
  type ZipkinCollector,
} from '@tsmesh/testing';

const dir = tempDir('proxy-sampling-');
const seen = new Map<string, http.IncomingHttpHeaders>();
const app = http.createServer((req, res) => {
  seen.set(req.url ?? '', req.headers);
  res.end('ok');
});
const listen = (s: http.Server) =>
  new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
const cluster = (name: string, port: number) => `
  - name: ${name}
    type: STATIC
    connect_timeout: 1s
    load_assignment: {cluster_name: ${name}, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${port}}}}}]}]}`;

let proxy: AppProcess;
let zipkin: ZipkinCollector;

beforeAll(async () => {
  ensureBuilt('proxy');
  const appPort = await listen(app);
  zipkin = await startZipkinCollector();
  const bootstrap = `
node: {id: "sidecar~127.0.0.1~sampling-1.default~default.svc.cluster.local", cluster: sampling.default}
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: outbound
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    traffic_direction: OUTBOUND
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: outbound
          tracing: {random_sampling: {value: 0}}
          route_config:
            name: outbound
            virtual_hosts: [{name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: app}}]}]
          http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]
  clusters:${cluster('app', appPort)}${cluster('zipkin', zipkin.port)}
tracing:
  http:
    name: envoy.tracers.zipkin
    typed_config: {"@type": type.googleapis.com/envoy.config.trace.v3.ZipkinConfig, collector_cluster: zipkin, collector_endpoint: /api/v2/spans, collector_endpoint_version: HTTP_JSON}
`;
  writeFileSync(join(dir.path, 'bootstrap.yaml'), bootstrap);
  proxy = await startApp('proxy', {
    args: [
      '--config-path',
      join(dir.path, 'bootstrap.yaml'),
      '--trace-sampling',
      '100',
      '--prometheus-address',
      '127.0.0.1:0',
      '--health-address',
      '127.0.0.1:0',
      '--outbound-address',
      '',
      '--inbound-address',
      '',
    ],
    ready: { listeners: ['admin', 'outbound'], http: '/ready', httpListener: 'admin' },
  });
}, 120_000);

afterAll(async () => {
  await stopAllApps();
  await new Promise<void>((r) => app.close(() => r()));
  await zipkin.close();
  dir.cleanup();
});

const FORCED = '80f198ee56343ba864fe8b2a57d3eff7';

it('exports no span for a request sampled out at 0 %, and one for x-b3-sampled: 1', async () => {
  const unsampled = await httpRequest(`${proxy.url('outbound')}/unsampled`);
  expect(unsampled.status).toBe(200);
  expect(seen.get('/unsampled')?.['x-b3-sampled']).toBe('0');
  const unsampledTrace = seen.get('/unsampled')?.['x-b3-traceid'];

  const forced = await httpRequest(`${proxy.url('outbound')}/forced`, {
    headers: { 'x-b3-traceid': FORCED, 'x-b3-spanid': 'e457b5a2e4d86bd1', 'x-b3-sampled': '1' },
  });
  expect(forced.status).toBe(200);
  expect(seen.get('/forced')?.['x-b3-sampled']).toBe('1');

  // Both finished before the next flush: the unsampled one would be in the same batch or earlier.
  await waitFor(() => zipkin.spans.some((s) => s.traceId === FORCED), { what: 'the forced span', timeoutMs: 20_000 });
  expect(zipkin.spans.map((s) => [s.traceId, s.kind])).toEqual([[FORCED, 'CLIENT']]);
  expect(zipkin.spans.some((s) => s.traceId === unsampledTrace)).toBe(false);
  const stats = (await httpRequest(`${proxy.url('admin')}/stats?filter=tracing.zipkin`)).body;
  expect(stats).toContain('tracing.zipkin.spans_sent: 1');
}, 30_000);
