/**
 * The TCP `mixer` network filter in a real engine (listener → mixer → tcp_proxy → a loopback
 * server) against the real Mixer process (dist/apps/mixer/main.js, builtin telemetry config):
 * Report open / continue / close with byte deltas and totals, the prometheus adapter's
 * istio_tcp_sent_bytes_total / istio_tcp_received_bytes_total with Istio's labels and exact
 * byte counts, a denier rule closing a connection before any byte reaches upstream, and Mixer
 * gone → fail closed / fail open.
 */
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpRequest, startApp, tempDir, waitFor, type AppProcess, type TempDir } from '@tsmesh/testing';
import type { Dataplane } from '../../../engine/dataplane';
import { staticClusterYaml, testEngine, yamlSnapshot } from '../../../engine/testing';
import { tcpMixerFilterWith } from './index';

const DENY = `
apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: { name: nodb, namespace: istio-system }
spec:
  status: { code: 7, message: no database for you }
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: { name: nodb, namespace: istio-system }
spec: {}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: nodb, namespace: istio-system }
spec:
  match: context.protocol == "tcp" && destination.service.name == "blocked"
  actions:
  - handler: nodb.denier
    instances: [ nodb.checknothing ]
`;

/** Answers every chunk with twice its bytes, so sent and received differ. */
function doublingServer(): Promise<{ server: net.Server; port: number; received: () => number }> {
  let received = 0;
  const server = net.createServer((s) =>
    s.on('data', (c: Buffer) => {
      received += c.length;
      s.write(Buffer.concat([c, c]));
    }),
  );
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () =>
      r({ server, port: (server.address() as net.AddressInfo).port, received: () => received }),
    ),
  );
}

function listener(name: string, service: string, checkCluster: string, failPolicy = 'FAIL_CLOSE'): string {
  return `
name: ${name}
address: {socket_address: {address: 127.0.0.1, port_value: 0}}
filter_chains:
- filters:
  - name: mixer
    typed_config:
      "@type": type.googleapis.com/istio.mixer.v1.config.client.TcpClientConfig
      transport:
        check_cluster: ${checkCluster}
        report_cluster: mixer
        network_fail_policy: {policy: ${failPolicy}}
      report_interval: 0.3s
      mixer_attributes:
        attributes:
          context.reporter.kind: {string_value: inbound}
          context.reporter.uid: {string_value: "kubernetes://mongodb-v1-1.default"}
          destination.uid: {string_value: "kubernetes://mongodb-v1-1.default"}
          destination.namespace: {string_value: default}
          destination.labels: {string_map_value: {entries: {app: mongodb, version: v1}}}
          destination.service.host: {string_value: ${service}.default.svc.cluster.local}
          destination.service.name: {string_value: ${service}}
          destination.service.namespace: {string_value: default}
  - name: envoy.filters.network.tcp_proxy
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: ${name}
      cluster: upstream
`;
}

/** Sends `chunks` (waiting for each answer), optionally holds the connection open, then closes. */
function session(address: string, chunks: string[], holdMs = 0): Promise<{ got: number }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), host);
    let got = 0;
    let expected = 0;
    let i = 0;
    const next = () => {
      if (i < chunks.length) {
        expected += chunks[i].length * 2;
        s.write(chunks[i++]);
      } else setTimeout(() => s.end(), holdMs);
    };
    s.on('connect', next);
    s.on('data', (c: Buffer) => {
      got += c.length;
      if (got === expected) next();
    });
    s.on('close', () => resolve({ got }));
    s.on('error', reject);
  });
}

type Series = { labels: Record<string, string>; value: number };

async function series(url: string, name: string): Promise<Series[]> {
  const body = String((await httpRequest(`${url}/metrics`)).body);
  const out: Series[] = [];
  for (const line of body.split('\n')) {
    const m = new RegExp(`^${name}\\{(.*)\\} (\\S+)$`).exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

const total = (s: Series[], service: string) =>
  s.filter((x) => x.labels['destination_service'] === service).reduce((a, x) => a + x.value, 0);

describe('TCP mixer filter against the real Mixer', () => {
  let dir: TempDir;
  let mixer: AppProcess;
  let dp: Dataplane;
  let up: Awaited<ReturnType<typeof doublingServer>>;
  const filter = tcpMixerFilterWith({
    resolveCluster: (name) =>
      name === 'mixer' ? mixer.addresses['grpc'] : name === 'nowhere' ? '127.0.0.1:9' : undefined,
    reportBatch: { maxDelayMs: 50 },
  });

  beforeAll(async () => {
    dir = tempDir('tcp-mixer-');
    writeFileSync(join(dir.path, 'deny.yaml'), DENY);
    mixer = await startApp('mixer', {
      args: [
        '--grpc-address=127.0.0.1:0',
        '--prometheus-address=127.0.0.1:0',
        '--monitoring-address=127.0.0.1:0',
        `--config-dir=${dir.path}`,
      ],
      ready: { listeners: ['grpc', 'prometheus', 'http'], http: '/ready' },
    });
    up = await doublingServer();
    dp = testEngine();
    dp.filters.registerNetwork(filter);
    await dp.apply(
      yamlSnapshot({
        listeners: [
          listener('mongo', 'mongodb', 'mixer'),
          listener('blocked', 'blocked', 'mixer'),
          listener('closed', 'mongodb-fc', 'nowhere', 'FAIL_CLOSE'),
          listener('open', 'mongodb-fo', 'nowhere', 'FAIL_OPEN'),
        ],
        clusters: [staticClusterYaml('upstream', [`127.0.0.1:${up.port}`])],
      }),
    );
  });

  afterAll(async () => {
    await dp?.stop();
    await filter.handle.close();
    up?.server.close();
    await mixer?.stop();
    dir?.cleanup();
  });

  const prom = () => mixer.url('prometheus');
  const tcpLogs = () =>
    mixer.logs
      .filter((l) => l.includes('"connectionEvent"'))
      .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as Record<string, unknown>);

  it('reports open, continue and close; istio_tcp_*_bytes_total count every byte with Istio labels', async () => {
    // 3 chunks (1,000 bytes up, 2,000 down), then held open past two report intervals
    const r = await session(dp.address('mongo') as string, ['a'.repeat(100), 'b'.repeat(400), 'c'.repeat(500)], 800);
    expect(r.got).toBe(2000);
    const svc = 'mongodb';
    const sent = await waitFor(
      async () => {
        const s = await series(prom(), 'istio_tcp_sent_bytes_total');
        return total(s, svc) === 2000 ? s : undefined;
      },
      { what: 'istio_tcp_sent_bytes_total = 2000' },
    );
    const received = await series(prom(), 'istio_tcp_received_bytes_total');
    expect(total(received, svc)).toBe(1000);
    expect(sent.find((x) => x.labels['destination_service'] === svc)?.labels).toMatchObject({
      reporter: 'destination',
      destination_service: 'mongodb',
      destination_service_name: 'mongodb',
      destination_service_namespace: 'default',
      destination_app: 'mongodb',
      destination_version: 'v1',
      connection_security_policy: 'none',
    });
    // the connection's events, from Mixer's builtin tcp access log
    const events = await waitFor(
      () => {
        const e = tcpLogs().filter((l) => l['destinationServiceHost'] === 'mongodb.default.svc.cluster.local');
        return e.some((l) => l['connectionEvent'] === 'close') ? e : undefined;
      },
      { what: 'close event logged' },
    );
    const kinds = events.map((e) => e['connectionEvent']);
    expect(kinds[0]).toBe('open');
    expect(kinds.filter((k) => k === 'continue').length).toBeGreaterThanOrEqual(1);
    expect(kinds[kinds.length - 1]).toBe('close');
    // deltas add up to the totals; the close report has the duration
    const sum = (k: string) => events.reduce((a, e) => a + Number(e[k]), 0);
    expect([sum('receivedBytes'), sum('sentBytes')]).toEqual([1000, 2000]);
    expect(events[events.length - 1]).toMatchObject({ totalReceivedBytes: 1000, totalSentBytes: 2000 });
    expect(String(events[events.length - 1]['connectionDuration'])).not.toBe('0s');
    expect(dp.stats.value('tcp_mixer_filter.total_remote_check_accepts')).toBeGreaterThanOrEqual(1);
  });

  it('a denier rule on the destination closes the connection before any byte goes upstream', async () => {
    const before = up.received();
    const r = await session(dp.address('blocked') as string, ['hello']);
    expect(r.got).toBe(0);
    expect(up.received()).toBe(before);
    expect(dp.stats.value('tcp_mixer_filter.total_remote_check_denies')).toBe(1);
  });

  it('Mixer unreachable: FAIL_CLOSE closes the connection, FAIL_OPEN lets it through; both counted', async () => {
    const closed = await session(dp.address('closed') as string, ['x'.repeat(10)]);
    expect(closed.got).toBe(0);
    expect(dp.stats.value('tcp_mixer_filter.total_check_fail_close')).toBe(1);
    const open = await session(dp.address('open') as string, ['y'.repeat(10)]);
    expect(open.got).toBe(20);
    expect(dp.stats.value('tcp_mixer_filter.total_check_fail_open')).toBe(1);
  });
});
