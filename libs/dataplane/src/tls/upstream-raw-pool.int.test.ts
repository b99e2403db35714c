/**
 * The raw HTTP/1.1 upstream pool over TLS (UpstreamTlsContext), against a TLS server that shows
 * what each connection negotiated (SNI, ALPN, resumption, client certificate) and every byte it
 * received: nothing goes out before the peer is verified, sessions are resumed within one
 * generation of the material and not across a rotation, and connect_timeout covers the handshake.
 */
import { X509Certificate } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { chunkedResponseWithTrailer, httpRequest, makeTestCert, trickle, type TestCert } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import { until } from '../engine/testing';
import { StaticCertificateProvider } from './certificate-provider';
import { OUTBOUND_CLUSTER, OUTBOUND_SNI, outboundMtlsSnapshot, sidecarEngine } from './testing';

const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/reviews';
const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/productpage';

interface SeenConnection {
  sni: string | false;
  alpn: string | false | null;
  resumed: boolean;
  clientSerial: string;
  bytes: number;
  closed: boolean;
}

/** A TLS server answering each HTTP/1.1 GET with the index of its connection; `/hold` waits. */
class TlsUpstream {
  readonly conns: SeenConnection[] = [];
  readonly held: (() => void)[] = [];
  /** TCP connections accepted and closed again (whether or not their handshake completed). */
  tcpClosed = 0;
  private readonly sockets = new Set<tls.TLSSocket>();
  readonly server: tls.Server;
  port = 0;

  constructor(cert: TestCert, clientCas: string[]) {
    this.server = tls.createServer(
      {
        cert: cert.cert,
        key: cert.key,
        ca: clientCas,
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ['istio', 'http/1.1'],
      },
      (sock) => this.onConnection(sock),
    );
    this.server.on('connection', (s: net.Socket) => s.once('close', () => this.tcpClosed++));
    this.server.on('tlsClientError', () => undefined);
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  private onConnection(sock: tls.TLSSocket): void {
    this.sockets.add(sock);
    const seen: SeenConnection = {
      sni: (sock as tls.TLSSocket & { servername?: string | false }).servername ?? false,
      alpn: sock.alpnProtocol,
      resumed: sock.isSessionReused(),
      clientSerial: sock.getPeerCertificate().serialNumber,
      bytes: 0,
      closed: false,
    };
    const index = this.conns.push(seen) - 1;
    let buf = '';
    sock.on('error', () => undefined);
    sock.once('close', () => {
      seen.closed = true;
      this.sockets.delete(sock);
    });
    sock.on('data', (d: Buffer) => {
      seen.bytes += d.length;
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const path = buf.slice(0, end).split(' ')[1];
        buf = buf.slice(end + 4);
        const body = String(index);
        const answer = () => sock.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
        if (path.startsWith('/pieces/')) this.inPieces(sock, path.slice(8));
        else if (path === '/hold') this.held.push(answer);
        else answer();
      }
    });
  }

  /** A chunked response with trailers, written 7 bytes (one TLS record) at a time. */
  private inPieces(sock: tls.TLSSocket, id: string): void {
    trickle(sock, chunkedResponseWithTrailer(id), 7);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('raw HTTP/1.1 upstream pool over TLS', () => {
  let serverCert: TestCert;
  let client1: TestCert;
  let client2: TestCert;
  let dp: Dataplane | undefined;
  let upstream: TlsUpstream | undefined;

  beforeAll(() => {
    serverCert = makeTestCert('reviews', { uri: [SERVER_ID] });
    client1 = makeTestCert('productpage', { uri: [CLIENT_ID] });
    client2 = makeTestCert('productpage', { uri: [CLIENT_ID] });
  });

  afterEach(async () => {
    for (const h of upstream?.held.splice(0) ?? []) h();
    await dp?.stop();
    dp = undefined;
    await upstream?.close();
    upstream = undefined;
  });

  /** A sidecar whose outbound cluster speaks mTLS to `port`, client certificate by SDS name. */
  async function sidecar(
    provider: StaticCertificateProvider,
    port: number,
    san = SERVER_ID,
    connectTimeout = '1s',
  ): Promise<string> {
    dp = sidecarEngine(provider);
    await dp.apply(outboundMtlsSnapshot({ port, san, commonExtra: 'alpn_protocols: [istio]\n      ', connectTimeout }));
    return `http://${dp.address('outbound')}`;
  }

  function provider(client: TestCert): StaticCertificateProvider {
    const p = new StaticCertificateProvider();
    p.setTlsCertificate('default', { certChain: client.cert, privateKey: client.key });
    p.setValidationContext('ROOTCA', { trustedCa: serverCert.ca });
    return p;
  }

  const stat = (name: string) => dp?.stats.value(`cluster.${OUTBOUND_CLUSTER}.${name}`);
  const get = (base: string, path: string) => httpRequest(`${base}${path}`, { headers: { host: 'reviews:9080' } });

  /** Holds the pooled connection busy so that the next request needs a new one. */
  async function onNewConnection(base: string): Promise<{ held: Promise<unknown>; body: string }> {
    const u = upstream as TlsUpstream;
    const held = get(base, '/hold');
    held.catch(() => undefined); // awaited by the caller
    await until(() => u.held.length === 1);
    const r = await get(base, '/next');
    expect(r.status).toBe(200);
    u.held.shift()?.();
    return { held, body: r.body };
  }

  it('sends SNI and ALPN istio, presents the client certificate and resumes the session on the next connection', async () => {
    upstream = new TlsUpstream(serverCert, [client1.ca, client2.ca]);
    await upstream.listen();
    const p = provider(client1);
    const base = await sidecar(p, upstream.port);

    const first = await get(base, '/a');
    expect([first.status, first.body]).toEqual([200, '0']);
    const second = await onNewConnection(base);
    expect(second.body).toBe('1');
    expect(await second.held).toMatchObject({ status: 200, body: '0' });

    const serial1 = new X509Certificate(client1.cert).serialNumber;
    expect(
      upstream.conns.map(({ sni, alpn, resumed, clientSerial }) => ({ sni, alpn, resumed, clientSerial })),
    ).toEqual([
      { sni: OUTBOUND_SNI, alpn: 'istio', resumed: false, clientSerial: serial1 },
      { sni: OUTBOUND_SNI, alpn: 'istio', resumed: true, clientSerial: serial1 },
    ]);
    // Pooled: the second connection carried the request and both went back to the pool.
    expect([stat('upstream_cx_total'), stat('upstream_rq_total')]).toEqual([2, 3]);

    // Rotation: the next new connection presents the new certificate, with a full handshake.
    p.setTlsCertificate('default', { certChain: client2.cert, privateKey: client2.key });
    const u = upstream;
    const heldA = get(base, '/hold');
    const heldB = get(base, '/hold');
    await until(() => u.held.length === 2);
    const third = await get(base, '/c');
    expect([third.status, third.body]).toEqual([200, '2']);
    for (const h of u.held.splice(0)) h();
    await Promise.all([heldA, heldB]);
    expect(u.conns[2]).toMatchObject({
      resumed: false,
      clientSerial: new X509Certificate(client2.cert).serialNumber,
    });
  });

  it('keeps every byte when responses arrive in small TLS records on several connections at once', async () => {
    // Decrypted reads land in the pool's one shared buffer: pieces held between reads and body
    // chunks of concurrent connections must not alias each other.
    upstream = new TlsUpstream(serverCert, [client1.ca]);
    await upstream.listen();
    const base = await sidecar(provider(client1), upstream.port);
    const ids = Array.from({ length: 6 }, (_, i) => String(i + 1));
    const got = await Promise.all(ids.map((id) => get(base, `/pieces/${id}`)));
    for (const [i, r] of got.entries()) {
      expect(r.status).toBe(200);
      expect(r.headers['x-id']).toBe(ids[i]);
      expect(r.body).toBe(`body-${ids[i]}-`.repeat(50));
    }
    expect(upstream.conns.length).toBeGreaterThan(1);
  });

  it('refuses a server that fails secure naming: 503 UF, a connect failure, no HTTP byte reaches it', async () => {
    upstream = new TlsUpstream(serverCert, [client1.ca]);
    await upstream.listen();
    const base = await sidecar(provider(client1), upstream.port, 'spiffe://cluster.local/ns/default/sa/someone-else');
    const r = await get(base, '/secret-path');
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/^upstream connect error or disconnect\/reset before headers/);
    const u = upstream;
    // The client closed the connection after verifying the server, without a byte of HTTP.
    await until(() => u.tcpClosed === 1);
    expect(u.conns.filter((c) => c.bytes > 0)).toEqual([]);
    expect(stat('upstream_cx_connect_fail')).toBe(1);
  });

  it('connect_timeout covers the TLS handshake (server accepts TCP, never answers the ClientHello)', async () => {
    const silent: net.Socket[] = [];
    const tcp = net.createServer((s) => silent.push(s));
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    try {
      const base = await sidecar(provider(client1), (tcp.address() as AddressInfo).port, SERVER_ID, '0.2s');
      const r = await get(base, '/');
      expect(r.status).toBe(503);
      expect(silent.length).toBe(1);
      expect([stat('upstream_cx_connect_timeout'), stat('upstream_cx_connect_fail')]).toEqual([1, 1]);
    } finally {
      for (const s of silent) s.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
    }
  });
});
