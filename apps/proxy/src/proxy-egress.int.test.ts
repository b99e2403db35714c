/**
 * Egress through a real sidecar configured by the real Pilot (folder registry, `outboundTrafficPolicy:
 * REGISTRY_ONLY`). Locally there is no iptables capture, so `--port-map` binds Pilot's outbound `0.0.0.0_443` and
 * `0.0.0.0_7000` listeners on loopback where the test connects:
 * - TLS on 443: the filter chain is picked by the ClientHello's SNI (tls_inspector), ServiceEntry hosts reach their
 *   own upstream with the TLS bytes untouched; an SNI no ServiceEntry allows ends in BlackHoleCluster;
 * - TCP on 7000: two ServiceEntries with CIDR `addresses` share the listener, the connection's destination address
 *   (127.0.1.1 here) picks the range (`prefix_ranges`) and so the ServiceEntry.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import {
  ensureBuilt,
  httpRequest,
  makeTestCert,
  startApp,
  startPilot,
  stopAllApps,
  tempDir,
  waitFor,
  type AppProcess,
} from '@tsmesh/testing';

const dir = tempDir('proxy-egress-');
const meshDir = tempDir('proxy-egress-mesh-');
const api = makeTestCert('api.example.com');
const other = makeTestCert('other.example.com');
const servers: net.Server[] = [];
let sidecar: AppProcess;

function listen(server: net.Server): Promise<number> {
  servers.push(server);
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
}

const tlsUpstream = (tag: string, cert: { key: string; cert: string }) =>
  listen(tls.createServer({ key: cert.key, cert: cert.cert }, (s) => s.end(`hello from ${tag}`)));
const tcpUpstream = (tag: string) => listen(net.createServer((s) => s.end(tag)));

/** TLS through the sidecar's 443 listener: the upstream's CN and reply, or 'closed' when nothing answered. */
function tlsThrough(servername?: string): Promise<{ cn: string; body: string } | 'closed'> {
  const [host, port] = sidecar.addresses['0.0.0.0_443'].split(':');
  return new Promise((resolve) => {
    const s = tls.connect({ host, port: Number(port), servername, rejectUnauthorized: false });
    let body = '';
    let cn = '';
    s.on('secureConnect', () => (cn = String(s.getPeerCertificate().subject?.CN ?? '')));
    s.on('data', (c: Buffer) => (body += c.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(cn ? { cn, body } : 'closed'));
  });
}

function tcpThrough(address: string): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const s = net.connect(Number(port), host);
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });
}

const stats = async (filter: string) => (await httpRequest(`${sidecar.url('admin')}/stats?filter=${filter}`)).body;

beforeAll(async () => {
  ensureBuilt('pilot');
  ensureBuilt('proxy');
  const apiPort = await tlsUpstream('api', api);
  const otherPort = await tlsUpstream('other', other);
  const corpPort = await tcpUpstream('corp');
  const labPort = await tcpUpstream('lab');
  const se = (name: string, host: string, port: string, endpointPort: number, addresses = '') =>
    `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${host}]
${addresses ? `  addresses: ${addresses}\n` : ''}  ports: [${port}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {${port.match(/name: ([\w-]+)/)?.[1]}: ${endpointPort}}}]
`;
  writeFileSync(
    join(dir.path, 'egress.yaml'),
    [
      se('api', 'api.example.com', '{number: 443, name: tls, protocol: TLS}', apiPort),
      se('other', 'other.example.com', '{number: 443, name: https, protocol: HTTPS}', otherPort),
      se('corp', 'corp.internal', '{number: 7000, name: tcp, protocol: TCP}', corpPort, '[127.0.0.0/24]'),
      se('lab', 'lab.internal', '{number: 7000, name: tcp, protocol: TCP}', labPort, '[127.0.1.0/24]'),
    ].join('---\n'),
  );
  const meshConfig = join(meshDir.path, 'mesh.yaml');
  writeFileSync(meshConfig, 'outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n');
  const pilot = await startPilot({ configDir: dir.path }, { args: ['--mesh-config', meshConfig] });
  sidecar = await startApp('proxy', {
    args: [
      '--discovery-address',
      pilot.addresses['grpc'],
      '--ip',
      '127.0.0.10',
      '--pod-name',
      'sleep-abc',
      '--namespace',
      'default',
      '--service-cluster',
      'sleep',
      '--admin-address',
      '127.0.0.1:0',
      '--prometheus-address',
      '',
      '--health-address',
      '127.0.0.1:0',
      '--outbound-address',
      '127.0.0.1:0',
      '--inbound-address',
      '',
      '--port-map',
      '443=127.0.0.1:0,7000=127.0.1.1:0',
      '--drain-duration',
      '1s',
    ],
    ready: {
      listeners: ['admin', 'health', '0.0.0.0_443', '0.0.0.0_7000'],
      http: '/healthz/ready',
      httpListener: 'health',
    },
  });
}, 180_000);

afterAll(async () => {
  await stopAllApps();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  dir.cleanup();
  meshDir.cleanup();
});

describe('sidecar egress ← real Pilot (REGISTRY_ONLY)', () => {
  it('sends TLS to the upstream the SNI names, bytes untouched (the upstream’s own certificate)', async () => {
    const r = await waitFor(
      async () => {
        const x = await tlsThrough('api.example.com');
        return x !== 'closed' ? x : undefined;
      },
      { what: 'TLS to api.example.com through the sidecar' },
    );
    expect(r).toEqual({ cn: 'api.example.com', body: 'hello from api' });
    expect(await tlsThrough('other.example.com')).toEqual({ cn: 'other.example.com', body: 'hello from other' });
    expect(await stats('outbound')).toMatch(/^cluster\.outbound\|443\|\|api\.example\.com\.upstream_cx_total: [1-9]/m);
  });

  it('gives an SNI no ServiceEntry allows nothing: BlackHoleCluster', async () => {
    const before = await stats('BlackHoleCluster');
    expect(await tlsThrough('evil.example.com')).toBe('closed');
    expect(await tlsThrough()).toBe('closed');
    const after = await stats('BlackHoleCluster');
    expect(after).not.toBe(before);
    expect(after).toMatch(/^cluster\.BlackHoleCluster\.upstream_cx_none_healthy: [1-9]/m);
  });

  it('routes TCP by destination address to the ServiceEntry whose CIDR holds it', async () => {
    const got = await waitFor(
      async () => {
        const x = await tcpThrough(sidecar.addresses['0.0.0.0_7000']);
        return x ? x : undefined;
      },
      { what: 'TCP through 0.0.0.0_7000' },
    );
    expect(sidecar.addresses['0.0.0.0_7000']).toMatch(/^127\.0\.1\.1:/);
    expect(got).toBe('lab');
  });
});
