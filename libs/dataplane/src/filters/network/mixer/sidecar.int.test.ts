/**
 * TCP traffic through a real sidecar process (dist/apps/proxy, static bootstrap shaped like
 * Pilot's inbound TCP listener: `mixer` TcpClientConfig naming Istio's check/report clusters,
 * then tcp_proxy) to a loopback server, reported to the real Mixer process: the prometheus
 * adapter's istio_tcp_sent_bytes_total / istio_tcp_received_bytes_total carry the bytes and
 * Istio's labels. The Mixer address comes from the `outbound|9091||istio-telemetry…` cluster's
 * endpoint in the proxy (ProxyRuntime's resolver), as with Pilot's EDS.
 */
import net from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { httpRequest, startApp, stopAllApps, tempDir, waitFor, type AppProcess } from '@tsmesh/testing';

const dir = tempDir('tcp-mixer-sidecar-');
let mixer: AppProcess;
let proxy: AppProcess;
let upstream: net.Server;

const POLICY = 'outbound|9091||istio-policy.istio-system.svc.cluster.local';
const TELEMETRY = 'outbound|9091||istio-telemetry.istio-system.svc.cluster.local';

const staticCluster = (name: string, address: string) => {
  const [host, port] = address.split(':');
  return `
  - name: "${name}"
    type: STATIC
    connect_timeout: 1s
    http2_protocol_options: {}
    load_assignment: {cluster_name: "${name}", endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: ${host}, port_value: ${port}}}}}]}]}`;
};

beforeAll(async () => {
  mixer = await startApp('mixer', {
    args: ['--grpc-address=127.0.0.1:0', '--prometheus-address=127.0.0.1:0', '--monitoring-address=127.0.0.1:0'],
    ready: { listeners: ['grpc', 'prometheus', 'http'], http: '/ready' },
  });
  // a "database" that answers every chunk with three times its bytes
  upstream = net.createServer((s) => s.on('data', (c: Buffer) => s.write(Buffer.concat([c, c, c]))));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const upPort = (upstream.address() as net.AddressInfo).port;
  const bootstrap = `
node: {id: "sidecar~127.0.0.1~mongodb-v1-abc.default~default.svc.cluster.local", cluster: mongodb.default}
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: inbound
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    traffic_direction: INBOUND
    filter_chains:
    - filters:
      - name: mixer
        typed_config:
          "@type": type.googleapis.com/istio.mixer.v1.config.client.TcpClientConfig
          transport:
            check_cluster: "${POLICY}"
            report_cluster: "${TELEMETRY}"
            network_fail_policy: {policy: FAIL_CLOSE}
          mixer_attributes:
            attributes:
              context.reporter.kind: {string_value: inbound}
              context.reporter.uid: {string_value: "kubernetes://mongodb-v1-abc.default"}
              destination.uid: {string_value: "kubernetes://mongodb-v1-abc.default"}
              destination.namespace: {string_value: default}
              destination.labels: {string_map_value: {entries: {app: mongodb, version: v1}}}
              destination.service.host: {string_value: mongodb.default.svc.cluster.local}
              destination.service.name: {string_value: mongodb}
              destination.service.namespace: {string_value: default}
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: "inbound|27017||mongodb.default.svc.cluster.local"
          cluster: "inbound|27017||mongodb.default.svc.cluster.local"
  clusters:${staticCluster('inbound|27017||mongodb.default.svc.cluster.local', `127.0.0.1:${upPort}`)}${staticCluster(POLICY, mixer.addresses['grpc'])}${staticCluster(TELEMETRY, mixer.addresses['grpc'])}
`;
  writeFileSync(join(dir.path, 'bootstrap.yaml'), bootstrap);
  proxy = await startApp('proxy', {
    args: [
      '--config-path',
      join(dir.path, 'bootstrap.yaml'),
      '--prometheus-address',
      '',
      '--health-address',
      '127.0.0.1:0',
      '--drain-duration',
      '1s',
    ],
    ready: { listeners: ['admin', 'inbound'], http: '/ready', httpListener: 'admin' },
  });
}, 60_000);

afterAll(async () => {
  await stopAllApps();
  await new Promise<void>((r) => upstream.close(() => r()));
  dir.cleanup();
});

/** Sends `bytes` in one write, reads `3 × bytes` back, closes. */
function exchange(address: string, bytes: number): Promise<number> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), host, () => s.write('m'.repeat(bytes)));
    let got = 0;
    s.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= bytes * 3) s.end();
    });
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
}

const sample = (body: string, name: string): { labels: string; value: number } | undefined => {
  const line = body.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes('destination_service="mongodb"'));
  if (!line) return undefined;
  return { labels: line.slice(line.indexOf('{'), line.lastIndexOf('}') + 1), value: Number(line.split(' ').pop()) };
};

it('TCP through the sidecar is checked and reported: istio_tcp_*_bytes_total with the bytes and Istio labels', async () => {
  expect(await exchange(proxy.addresses['inbound'], 700)).toBe(2100);
  expect(await exchange(proxy.addresses['inbound'], 300)).toBe(900);
  const body = await waitFor(
    async () => {
      const b = String((await httpRequest(`${mixer.url('prometheus')}/metrics`)).body);
      return sample(b, 'istio_tcp_sent_bytes_total')?.value === 3000 ? b : undefined;
    },
    { what: 'istio_tcp_sent_bytes_total 3000', timeoutMs: 15_000 },
  );
  const received = sample(body, 'istio_tcp_received_bytes_total');
  expect(received?.value).toBe(1000);
  for (const label of [
    'reporter="destination"',
    'destination_app="mongodb"',
    'destination_version="v1"',
    'destination_service_name="mongodb"',
    'destination_service_namespace="default"',
    'connection_security_policy="none"',
  ])
    expect(received?.labels).toContain(label);
  // Mixer counts a Report before it answers it: the sidecar's success counter follows the answer.
  const stats = await waitFor(
    async () => {
      const s = String((await httpRequest(`${proxy.url('admin')}/stats`)).body);
      return Number(/tcp_mixer_filter\.total_remote_report_successes: (\d+)/.exec(s)?.[1]) > 0 ? s : undefined;
    },
    { what: 'tcp_mixer_filter.total_remote_report_successes > 0', timeoutMs: 15_000 },
  );
  // two connections, two checks (the second may be answered from the check cache)
  expect(Number(/tcp_mixer_filter\.total_check_calls: (\d+)/.exec(stats)?.[1])).toBe(2);
  expect(Number(/tcp_mixer_filter\.total_remote_check_accepts: (\d+)/.exec(stats)?.[1])).toBeGreaterThanOrEqual(1);
});
