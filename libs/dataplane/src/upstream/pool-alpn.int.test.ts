/**
 * ALPN offered by an HTTP/2 cluster over TLS, as Envoy: the UpstreamTlsContext's
 * `common_tls_context.alpn_protocols` as configured, `h2` only when it has none. The upstreams
 * here choose the protocol themselves from what the client offers (node's `ALPNCallback`) and
 * refuse the handshake when nothing they accept is offered, so a request succeeds only when the
 * cluster offered what the server wants; each records the offered list and its selection.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { httpRequest, makeTestCert, type TestCert } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import { httpListenerYaml, startUpstream, staticClusterYaml, yamlSnapshot, type TestUpstream } from '../engine/testing';
import { StaticCertificateProvider } from '../tls/certificate-provider';
import { outboundMtlsSnapshot, sidecarEngine } from '../tls/testing';
import { http2Alpn } from './pool';

const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews';
/** What Pilot's sidecar inbound DownstreamTlsContext offers (apps/pilot security/mtls.ts), in its order. */
const SIDECAR_INBOUND_ALPN = ['istio-peer-exchange', 'h2', 'http/1.1', 'istio'];

interface Handshake {
  offered: string[];
  selected: string | undefined;
}

/**
 * A TLS HTTP/2 upstream (mTLS, trusting the test CA) that selects, in its own preference order,
 * the first protocol of `accepts` the client offered, and refuses the handshake when there is
 * none. Answers with the HTTP version and the ALPN protocol of the connection.
 */
async function alpnUpstream(cert: TestCert, accepts: string[]) {
  const handshakes: Handshake[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createSecureServer(
    {
      cert: cert.cert,
      key: cert.key,
      ca: cert.ca,
      requestCert: true,
      ALPNCallback: ({ protocols }) => {
        const selected = accepts.find((p) => protocols.includes(p));
        handshakes.push({ offered: [...protocols], selected });
        return selected;
      },
    },
    (req, res) => {
      const sock = req.stream.session?.socket as TLSSocket | undefined;
      res.end(`HTTP/${req.httpVersion} alpn=${String(sock?.alpnProtocol)}`);
    },
  );
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    handshakes,
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('HTTP/2 cluster over TLS: ALPN offered as configured (Envoy), h2 when none', () => {
  jest.setTimeout(60_000);
  let cert: TestCert;
  let provider: StaticCertificateProvider;
  const cleanups: (() => unknown)[] = [];

  beforeAll(() => {
    cert = makeTestCert('reviews', { uri: [SERVER_ID] });
    provider = new StaticCertificateProvider();
    provider.setTlsCertificate('default', { certChain: cert.cert, privateKey: cert.key });
    provider.setValidationContext('ROOTCA', { trustedCa: cert.ca });
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A sidecar whose outbound HTTP/2 mTLS cluster points at `port`, with `alpn` in its context. */
  async function sidecar(port: number, alpn?: string[]): Promise<string> {
    const dp: Dataplane = sidecarEngine(provider);
    cleanups.push(() => dp.stop());
    await dp.apply(
      outboundMtlsSnapshot({
        port,
        san: SERVER_ID,
        clusterExtra: 'http2_protocol_options: {}\n',
        commonExtra: alpn ? `alpn_protocols: [${alpn.join(', ')}]\n      ` : '',
      }),
    );
    return `http://${dp.address('outbound')}`;
  }

  const get = (base: string) => httpRequest(`${base}/x`, { headers: { host: 'reviews:9080' } });

  it("Pilot's ISTIO_MUTUAL HTTP/2 list [istio, h2] is offered as is; a server ranking like the sidecar inbound selects h2", async () => {
    const up = await alpnUpstream(cert, SIDECAR_INBOUND_ALPN);
    cleanups.push(() => up.close());
    const res = await get(await sidecar(up.port, ['istio', 'h2']));
    expect([res.status, res.body]).toEqual([200, 'HTTP/2.0 alpn=h2']);
    expect(up.handshakes).toEqual([{ offered: ['istio', 'h2'], selected: 'h2' }]);
  });

  it('without alpn_protocols the HTTP/2 codec falls back to offering h2 alone', async () => {
    const up = await alpnUpstream(cert, ['h2']);
    cleanups.push(() => up.close());
    const res = await get(await sidecar(up.port));
    expect([res.status, res.body]).toEqual([200, 'HTTP/2.0 alpn=h2']);
    expect(up.handshakes).toEqual([{ offered: ['h2'], selected: 'h2' }]);
  });

  it('a configured list without h2 is offered without h2 appended; the session still speaks HTTP/2 on what the server chose', async () => {
    const up = await alpnUpstream(cert, ['istio']);
    cleanups.push(() => up.close());
    const res = await get(await sidecar(up.port, ['istio']));
    expect([res.status, res.body]).toEqual([200, 'HTTP/2.0 alpn=istio']);
    expect(up.handshakes).toEqual([{ offered: ['istio'], selected: 'istio' }]);
  });

  it('a server that selects istio from [istio, h2] still gets HTTP/2 (the client never looks at the selection)', async () => {
    const up = await alpnUpstream(cert, ['istio', 'h2']);
    cleanups.push(() => up.close());
    const res = await get(await sidecar(up.port, ['istio', 'h2']));
    expect([res.status, res.body]).toEqual([200, 'HTTP/2.0 alpn=istio']);
    expect(up.handshakes).toEqual([{ offered: ['istio', 'h2'], selected: 'istio' }]);
  });

  it('a server that accepts only h2 refuses a cluster offering [istio] (nothing appended): the request fails, no handshake selects', async () => {
    const up = await alpnUpstream(cert, ['h2']);
    cleanups.push(() => up.close());
    const res = await get(await sidecar(up.port, ['istio']));
    expect(res.status).toBe(503);
    expect(up.handshakes.length).toBeGreaterThanOrEqual(1);
    for (const h of up.handshakes) expect(h).toEqual({ offered: ['istio'], selected: undefined });
  });

  it("sidecar to sidecar: the inbound listener's own list selects h2 from [istio, h2] and takes the connection as HTTP/2", async () => {
    const app: TestUpstream = await startUpstream('reviews-app');
    cleanups.push(() => app.close());
    const server: Dataplane = sidecarEngine(provider);
    cleanups.push(() => server.stop());
    await server.apply(
      yamlSnapshot({
        listeners: [
          httpListenerYaml('inbound', 'in').replace(
            '- filters:',
            `- transport_socket:
    name: envoy.transport_sockets.tls
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
      require_client_certificate: true
      common_tls_context:
        tls_certificate_sds_secret_configs: [{name: default}]
        validation_context_sds_secret_config: {name: ROOTCA}
        alpn_protocols: [${SIDECAR_INBOUND_ALPN.join(', ')}]
  filters:`,
          ),
        ],
        routes: [
          `name: in\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: app}}]}]`,
        ],
        clusters: [staticClusterYaml('app', [app.address])],
      }),
    );
    const inboundPort = Number(String(server.address('inbound')).split(':')[1]);
    const res = await get(await sidecar(inboundPort, ['istio', 'h2']));
    expect([res.status, res.body]).toEqual([200, 'reviews-app']);
    expect(server.stats.value('http.inbound.downstream_cx_http2_total')).toBe(1);
    expect(server.stats.value('http.inbound.downstream_rq_http2_total')).toBe(1);
    expect(server.stats.value('http.inbound.downstream_rq_http1_total')).toBe(0);
  });

  it('http2Alpn: the configured list, else h2', () => {
    expect(http2Alpn({ ALPNProtocols: ['istio', 'h2'] })).toEqual(['istio', 'h2']);
    expect(http2Alpn({ ALPNProtocols: [] })).toEqual(['h2']);
    expect(http2Alpn({})).toEqual(['h2']);
  });
});
