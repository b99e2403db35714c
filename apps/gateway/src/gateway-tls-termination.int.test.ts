/**
 * The built gateway against the real built Pilot (folder registry): Gateway servers with `protocol: TLS` on one port,
 * told apart by SNI: `mode: SIMPLE` with certificate files and `mode: MUTUAL` with a `credentialName` Secret
 * (served over SDS, `ca.crt` verifying client certificates) terminate TLS and TCP-proxy the plaintext to the bound
 * VirtualService's `tcp` route destination; `mode: PASSTHROUGH` forwards the TLS bytes by SNI to a `tls` route.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import {
  ensureBuilt,
  makeTestCert,
  startApp,
  stopAllApps,
  tempDir,
  waitFor,
  type AppProcess,
  startPilot,
} from '@tsmesh/testing';

const config = tempDir('gateway-tls-config-');
const certs = tempDir('gateway-tls-certs-');
const certA = makeTestCert('a.example.com');
const certB = makeTestCert('b.example.com');
// Every makeTestCert CA has the same name, so the server's client-CA store would be chained onto its own certificate
// if it were another CA: the client certificate here is b's leaf (it carries clientAuth), verified by b's CA.
const client = certB;
const certC = makeTestCert('c.example.com');
const servers: net.Server[] = [];
let gw: AppProcess;

function listen(server: net.Server): Promise<number> {
  servers.push(server);
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
}

/** A plain TCP upstream that answers every chunk with `<tag>:<chunk>`. */
const echo = (tag: string) => listen(net.createServer((s) => s.on('data', (d) => s.write(`${tag}:${d}`))));

interface Exchange {
  /** CN of the certificate the client saw. */
  cn: string;
  reply: string;
}

/** TLS client with SNI: sends `ping`, returns the first reply (or the error that ended the connection). */
function exchange(servername: string, ca: string, clientCert?: { key: string; cert: string }): Promise<Exchange> {
  const [host, port] = gw.addresses['0.0.0.0_9443'].split(':');
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port: Number(port), servername, ca, ...clientCert });
    s.setTimeout(5000, () => s.destroy(new Error('timed out')));
    s.on('secureConnect', () => s.write('ping'));
    s.on('data', (d: Buffer) => {
      resolve({ cn: String(s.getPeerCertificate().subject?.CN ?? ''), reply: d.toString() });
      s.end();
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error('closed without a reply')));
  });
}

beforeAll(async () => {
  ensureBuilt('pilot');
  ensureBuilt('gateway');
  const portA = await echo('A');
  const portB = await echo('B');
  const portC = await listen(tls.createServer({ key: certC.key, cert: certC.cert }, (s) => s.end('C:tls-upstream')));
  writeFileSync(join(certs.path, 'a.crt'), certA.cert);
  writeFileSync(join(certs.path, 'a.key'), certA.key);
  const se = (name: string, port: number) => `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: ${name}, namespace: istio-system}
spec:
  hosts: [${name}.internal]
  ports: [{number: 9000, name: tcp, protocol: TCP}]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tcp: ${port}}}]
`;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  writeFileSync(
    join(config.path, 'tls-gateway.yaml'),
    [
      se('echo-a', portA),
      se('echo-b', portB),
      se('upstream-c', portC),
      `apiVersion: v1
kind: Secret
metadata: {name: b-cert, namespace: istio-system}
type: kubernetes.io/tls
data: {tls.crt: ${b64(certB.cert)}, tls.key: ${b64(certB.key)}, ca.crt: ${b64(certB.ca)}}
`,
      `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: tls-gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 9443, name: tls-a, protocol: TLS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, serverCertificate: ${join(certs.path, 'a.crt')}, privateKey: ${join(certs.path, 'a.key')}}
  - port: {number: 9443, name: tls-b, protocol: TLS}
    hosts: [b.example.com]
    tls: {mode: MUTUAL, credentialName: b-cert}
  - port: {number: 9443, name: tls-c, protocol: TLS}
    hosts: [c.example.com]
    tls: {mode: PASSTHROUGH}
`,
      `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: a, namespace: istio-system}
spec:
  hosts: [a.example.com]
  gateways: [tls-gw]
  tcp: [{route: [{destination: {host: echo-a.internal, port: {number: 9000}}}]}]
`,
      `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: b, namespace: istio-system}
spec:
  hosts: [b.example.com]
  gateways: [tls-gw]
  tcp: [{match: [{port: 9443}], route: [{destination: {host: echo-b.internal, port: {number: 9000}}}]}]
`,
      `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: c, namespace: istio-system}
spec:
  hosts: [c.example.com]
  gateways: [tls-gw]
  tls: [{match: [{port: 9443, sniHosts: [c.example.com]}], route: [{destination: {host: upstream-c.internal, port: {number: 9000}}}]}]
`,
    ].join('---\n'),
  );
  const pilot = await startPilot({ configDir: config.path });
  gw = await startApp('gateway', {
    args: [
      '--discovery-address',
      pilot.addresses['grpc'],
      '--admin-address',
      '127.0.0.1:0',
      '--prometheus-address',
      '',
      '--health-address',
      '127.0.0.1:0',
      '--port-map',
      '9443=127.0.0.1:0',
      '--drain-duration',
      '1s',
    ],
    ready: { listeners: ['admin', 'health', '0.0.0.0_9443'], http: '/healthz/ready', httpListener: 'health' },
  });
}, 180_000);

afterAll(async () => {
  await stopAllApps();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  config.cleanup();
  certs.cleanup();
});

describe('gateway TLS servers ← real Pilot', () => {
  it('SIMPLE: terminates with the certificate files and forwards the plaintext to the tcp route upstream', async () => {
    const r = await waitFor(() => exchange('a.example.com', certA.ca).catch(() => undefined), {
      what: 'TLS to a.example.com through the gateway',
    });
    expect(r).toEqual({ cn: 'a.example.com', reply: 'A:ping' });
  });

  it('MUTUAL: terminates with the credentialName secret over SDS and requires a client certificate', async () => {
    const r = await waitFor(() => exchange('b.example.com', certB.ca, client).catch(() => undefined), {
      what: 'mutual TLS to b.example.com through the gateway',
    });
    expect(r).toEqual({ cn: 'b.example.com', reply: 'B:ping' });
    await expect(exchange('b.example.com', certB.ca)).rejects.toThrow();
    const stranger = makeTestCert('stranger.example.com');
    await expect(exchange('b.example.com', certB.ca, stranger)).rejects.toThrow();
  });

  it('PASSTHROUGH: forwards the TLS bytes by SNI to the tls route upstream (its certificate, its reply)', async () => {
    const [host, port] = gw.addresses['0.0.0.0_9443'].split(':');
    const r = await waitFor(
      () =>
        new Promise<{ cn: string; body: string } | undefined>((resolve) => {
          const s = tls.connect({ host, port: Number(port), servername: 'c.example.com', ca: certC.ca });
          let body = '';
          let cn = '';
          s.on('secureConnect', () => (cn = String(s.getPeerCertificate().subject?.CN ?? '')));
          s.on('data', (d: Buffer) => (body += d.toString()));
          s.on('error', () => resolve(undefined));
          s.on('close', () => resolve(cn ? { cn, body } : undefined));
        }),
      { what: 'TLS passthrough to c.example.com' },
    );
    expect(r).toEqual({ cn: 'c.example.com', body: 'C:tls-upstream' });
  });
});
