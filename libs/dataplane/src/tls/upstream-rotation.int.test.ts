import { X509Certificate } from 'node:crypto';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { httpRequest, makeTestCert, type TestCert } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import { until } from '../engine/testing';
import { StaticCertificateProvider } from './certificate-provider';
import { outboundMtlsSnapshot, sidecarEngine } from './testing';

const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews';
const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/productpage';

/** Serial number of a PEM certificate as node reports it on the peer side. */
function serialOf(pem: string): string {
  return new X509Certificate(pem).serialNumber;
}

describe('outbound mTLS after client certificate rotation (UpstreamTlsContext by SDS name)', () => {
  let serverCert: TestCert;
  let client1: TestCert;
  let client2: TestCert;
  let server: https.Server;
  let port: number;
  let dp: Dataplane | undefined;
  const held: (() => void)[] = [];

  beforeAll(async () => {
    serverCert = makeTestCert('reviews', { uri: [SERVER_ID] });
    client1 = makeTestCert('productpage', { uri: [CLIENT_ID] });
    client2 = makeTestCert('productpage', { uri: [CLIENT_ID] });
    // The upstream (a workload's inbound side) trusts both client CAs and answers with the serial
    // of the client certificate presented on the connection, and the client's source port.
    server = https.createServer(
      {
        cert: serverCert.cert,
        key: serverCert.key,
        ca: [client1.ca, client2.ca],
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const sock = req.socket as TLSSocket;
        const answer = () => res.end(`${sock.getPeerCertificate().serialNumber} ${sock.remotePort}`);
        if (req.url === '/hold') held.push(answer);
        else answer();
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    for (const h of held.splice(0)) h();
    await dp?.stop();
    dp = undefined;
    server.closeAllConnections();
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  const engine = sidecarEngine;

  /** Outbound listener + mTLS cluster; the client certificate comes by SDS name `default`. */
  function snapshot(secrets: string[] = [], upstreamPort = port, extra = '') {
    return outboundMtlsSnapshot({ port: upstreamPort, san: SERVER_ID, secrets, clusterExtra: extra });
  }

  const secretYaml = (c: TestCert) =>
    `name: default\ntls_certificate: {certificate_chain: {inline_string: ${JSON.stringify(c.cert)}}, private_key: {inline_string: ${JSON.stringify(c.key)}}}`;

  /**
   * With one pooled connection (opened with the first certificate) held busy, a request needs a
   * new upstream connection: it must present `expected`; the held request then completes on the
   * old connection.
   */
  async function expectRotated(base: string, before: { serial: string; port: string }, expected: TestCert) {
    const get = (path: string) => httpRequest(`${base}${path}`, { headers: { host: 'reviews:9080' } });
    const holding = get('/hold');
    holding.catch(() => undefined); // awaited below; avoids an unhandled rejection if an assertion fails first
    await until(() => held.length === 1);
    const second = await get('/who');
    expect(second.status).toBe(200);
    const [serial2, port2] = second.body.split(' ');
    expect(serial2).toBe(serialOf(expected.cert));
    expect(port2).not.toBe(before.port);
    held.shift()?.();
    const done = await holding;
    expect([done.status, done.body]).toEqual([200, `${before.serial} ${before.port}`]);
  }

  async function first(base: string): Promise<{ serial: string; port: string }> {
    const r = await httpRequest(`${base}/who`, { headers: { host: 'reviews:9080' } });
    expect(r.status).toBe(200);
    const [serial, p] = r.body.split(' ');
    return { serial, port: p };
  }

  it('CertificateProvider rotation: the next new connection presents the new certificate, the pooled one keeps working', async () => {
    const provider = new StaticCertificateProvider();
    provider.setTlsCertificate('default', { certChain: client1.cert, privateKey: client1.key });
    provider.setValidationContext('ROOTCA', { trustedCa: serverCert.ca });
    dp = engine(provider);
    await dp.apply(snapshot());
    const base = `http://${dp.address('outbound')}`;
    const before = await first(base);
    expect(before.serial).toBe(serialOf(client1.cert));

    provider.setTlsCertificate('default', { certChain: client2.cert, privateKey: client2.key });
    await expectRotated(base, before, client2);
  });

  it('SDS Secret update with the cluster unchanged (kept across the push) reaches the next new connection', async () => {
    const provider = new StaticCertificateProvider();
    provider.setValidationContext('ROOTCA', { trustedCa: serverCert.ca });
    dp = engine(provider);
    await dp.apply(snapshot([secretYaml(client1)]));
    const base = `http://${dp.address('outbound')}`;
    const before = await first(base);
    expect(before.serial).toBe(serialOf(client1.cert));

    await dp.apply(snapshot([secretYaml(client2)]));
    await expectRotated(base, before, client2);
  });

  it('HTTP/2 upstream over mTLS: a new session after a rotation presents the new certificate', async () => {
    const sessions: http2.ServerHttp2Session[] = [];
    const h2 = http2.createSecureServer(
      { cert: serverCert.cert, key: serverCert.key, ca: [client1.ca, client2.ca], requestCert: true },
      (req, res) => {
        const sock = req.stream.session?.socket as TLSSocket;
        res.end(`${sock.getPeerCertificate().serialNumber} ${sock.remotePort}`);
      },
    );
    h2.on('session', (s) => sessions.push(s));
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', () => r()));
    try {
      const provider = new StaticCertificateProvider();
      provider.setTlsCertificate('default', { certChain: client1.cert, privateKey: client1.key });
      provider.setValidationContext('ROOTCA', { trustedCa: serverCert.ca });
      dp = engine(provider);
      await dp.apply(snapshot([], (h2.address() as AddressInfo).port, 'http2_protocol_options: {}\n'));
      const base = `http://${dp.address('outbound')}`;
      const before = await first(base);
      expect(before.serial).toBe(serialOf(client1.cert));
      provider.setTlsCertificate('default', { certChain: client2.cert, privateKey: client2.key });
      // The shared session keeps its handshake until it goes away.
      expect((await first(base)).serial).toBe(before.serial);
      for (const s of sessions) s.close();
      await until(() => dp?.clusters()[0]?.hosts[0]?.cxActive === 0);
      const after = await first(base);
      expect(after.serial).toBe(serialOf(client2.cert));
      expect(after.port).not.toBe(before.port);
    } finally {
      for (const s of sessions) s.destroy();
      await new Promise<void>((r) => h2.close(() => r()));
    }
  });
});
