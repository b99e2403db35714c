import https from 'node:https';
import http2 from 'node:http2';
import tls from 'node:tls';
import { httpRequest, makeTestCert, trickle, type TestCert } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  until,
  yamlSnapshot,
  type TestUpstream,
} from '../engine/testing';
import type { StreamInfo } from '../http/stream-info';
import { StaticCertificateProvider } from './certificate-provider';
import { Dataplane as DataplaneClass } from '../engine/dataplane';
import { silentLogger } from '@tsmesh/core';
import { registerBuiltinFilters } from '../filters/builtin';
import { FilterRegistry } from '../filters/types';

const SPIFFE = 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews';
const inline = (pem: string) => JSON.stringify(pem);

describe('mTLS between two sidecars (envoy.transport_sockets.tls)', () => {
  let cert: TestCert;
  let app: TestUpstream;
  let inbound: Dataplane;
  let outbound: Dataplane;
  let infos: StreamInfo[];
  let provider: StaticCertificateProvider;

  beforeAll(async () => {
    cert = makeTestCert('reviews', { uri: [SPIFFE] });
    app = await startUpstream('reviews-app');
    provider = new StaticCertificateProvider();
    provider.setTlsCertificate('default', { certChain: cert.cert, privateKey: cert.key });
    provider.setValidationContext('ROOTCA', { trustedCa: cert.ca });
    inbound = new DataplaneClass({
      nodeId: 'inbound',
      logger: silentLogger(),
      filters: registerBuiltinFilters(new FilterRegistry()),
      tls: { provider },
      drainMs: 10,
    });
    infos = [];
    inbound.onStreamComplete((i) => infos.push(i));
    const listener = httpListenerYaml('inbound', 'in').replace(
      '- filters:',
      `- transport_socket:
    name: envoy.transport_sockets.tls
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
      require_client_certificate: true
      common_tls_context:
        tls_certificate_sds_secret_configs: [{name: default}]
        validation_context_sds_secret_config: {name: ROOTCA}
  filters:`,
    );
    await inbound.apply(
      yamlSnapshot({
        listeners: [listener],
        routes: [
          `name: in\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: app}}]}]`,
        ],
        clusters: [staticClusterYaml('app', [app.address])],
      }),
    );
  });
  afterAll(async () => {
    await inbound.stop();
    await outbound?.stop();
    await app.close();
  });

  async function startOutbound(san: string): Promise<string> {
    await outbound?.stop();
    outbound = testEngine();
    const tlsCluster = staticClusterYaml(
      'outbound|9080||reviews.default.svc.cluster.local',
      [inbound.address('inbound') as string],
      `transport_socket:
  name: envoy.transport_sockets.tls
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
    sni: outbound_.9080_._.reviews.default.svc.cluster.local
    common_tls_context:
      tls_certificates:
      - certificate_chain: {inline_string: ${inline(cert.cert)}}
        private_key: {inline_string: ${inline(cert.key)}}
      validation_context:
        trusted_ca: {inline_string: ${inline(cert.ca)}}
        match_subject_alt_names: [{exact: "${san}"}]`,
    );
    await outbound.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('outbound', 'out')],
        routes: [
          `name: out\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: "outbound|9080||reviews.default.svc.cluster.local"}}]}]`,
        ],
        clusters: [tlsCluster],
      }),
    );
    return `http://${outbound.address('outbound')}`;
  }

  it('carries the request over mTLS and exposes the peer SPIFFE identity as source.principal', async () => {
    const base = await startOutbound(SPIFFE);
    const r = await httpRequest(`${base}/reviews/0`, { headers: { host: 'reviews:9080' } });
    expect([r.status, r.body]).toEqual([200, 'reviews-app']);
    await until(() => infos.length === 1);
    expect(infos[0].peerIdentity).toBe(SPIFFE);
    expect(infos[0].localIdentity).toBe(SPIFFE);
  });

  it('serves pipelined requests arriving a few bytes at a time over several mTLS connections at once', async () => {
    // Decrypted reads of every inbound connection land in the codec's one shared buffer: partial
    // heads and body pieces held between reads must not alias another connection's bytes.
    const [host, port] = (inbound.address('inbound') as string).split(':');
    const before = app.requests.length;
    const wire = (i: number) => {
      const a = `conn-${i}-content-length-body-`.repeat(8);
      const b = `conn-${i}-chunked-body-`.repeat(8);
      return (
        `GET /pieces/${i}/0 HTTP/1.1\r\nhost: reviews:9080\r\n\r\n` +
        `POST /pieces/${i}/1 HTTP/1.1\r\nhost: reviews:9080\r\ncontent-length: ${a.length}\r\n\r\n${a}` +
        `POST /pieces/${i}/2 HTTP/1.1\r\nhost: reviews:9080\r\ntransfer-encoding: chunked\r\n\r\n` +
        `${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`
      );
    };
    const one = (i: number) =>
      new Promise<string>((resolve, reject) => {
        const s = tls.connect({
          host,
          port: Number(port),
          cert: cert.cert,
          key: cert.key,
          ca: cert.ca,
          ALPNProtocols: ['http/1.1'],
          checkServerIdentity: () => undefined,
        });
        let got = '';
        s.on('data', (d: Buffer) => {
          got += d.toString('latin1');
          // Three answers, each the app's body as one chunk and the last chunk.
          if (got.split('\r\nreviews-app\r\n0\r\n\r\n').length - 1 === 3) {
            s.destroy();
            resolve(got);
          }
        });
        s.on('error', reject);
        s.once('secureConnect', () => {
          trickle(s, wire(i), 3 + (i % 3));
        });
      });
    const answers = await Promise.all([0, 1, 2, 3, 4, 5].map(one));
    for (const a of answers) expect(a.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(3);
    const seen = app.requests.slice(before);
    expect(seen).toHaveLength(18);
    for (let i = 0; i < 6; i++) {
      expect(seen.find((r) => r.url === `/pieces/${i}/0`)?.body).toBe('');
      expect(seen.find((r) => r.url === `/pieces/${i}/1`)?.body).toBe(`conn-${i}-content-length-body-`.repeat(8));
      expect(seen.find((r) => r.url === `/pieces/${i}/2`)?.body).toBe(`conn-${i}-chunked-body-`.repeat(8));
    }
  });

  it('refuses a server whose SAN does not match (secure naming) with 503 UF', async () => {
    const base = await startOutbound('spiffe://cluster.local/ns/default/sa/someone-else');
    const r = await httpRequest(`${base}/reviews/0`, { headers: { host: 'reviews:9080' } });
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/^upstream connect error or disconnect\/reset before headers/);
  });

  it('serves HTTP/2 negotiated by ALPN over mTLS', async () => {
    const session = http2.connect(`https://${inbound.address('inbound')}`, {
      cert: cert.cert,
      key: cert.key,
      ca: cert.ca,
      checkServerIdentity: () => undefined,
    });
    const body = await new Promise<string>((resolve, reject) => {
      const st = session.request({ ':path': '/h2', ':method': 'GET', ':authority': 'reviews:9080' });
      let text = '';
      st.on('data', (c: Buffer) => (text += c.toString()));
      st.on('end', () => resolve(text));
      st.on('error', reject);
      st.end();
    });
    session.close();
    expect(body).toBe('reviews-app');
    await until(() => infos.some((i) => i.protocol === 'HTTP/2'));
    expect(infos.find((i) => i.protocol === 'HTTP/2')?.peerIdentity).toBe(SPIFFE);
    // Envoy's per-codec and TLS connection counters: every connection of this listener is TLS.
    const v = (n: string) => inbound.stats.value(`http.inbound.${n}`) ?? 0;
    expect(v('downstream_cx_http2_total')).toBeGreaterThanOrEqual(1);
    expect(v('downstream_cx_ssl_total')).toBe(v('downstream_cx_total'));
    expect(v('downstream_cx_ssl_total')).toBe(v('downstream_cx_http1_total') + v('downstream_cx_http2_total'));
    await until(() => v('downstream_cx_http2_active') === 0);
    expect(v('downstream_cx_ssl_active')).toBe(v('downstream_cx_active'));
  });

  it('refuses a TLS client without a certificate and counts ssl.fail_verify_no_cert', async () => {
    const addr = inbound.address('inbound') as string;
    const [host, port] = addr.split(':');
    await expect(
      new Promise<string>((resolve, reject) => {
        const req = https.request(
          { host, port, path: '/', ca: cert.ca, agent: false, checkServerIdentity: () => undefined },
          (res) => {
            res.resume();
            res.on('end', () => resolve(String(res.statusCode)));
          },
        );
        req.on('error', reject);
        req.end();
      }),
    ).rejects.toThrow();
    await until(() => inbound.stats.value(`listener.${host}_${port}.ssl.fail_verify_no_cert`) === 1);
    expect(inbound.stats.value(`listener.${host}_${port}.ssl.handshake`)).toBeGreaterThanOrEqual(1);
  });

  it('rejects plaintext clients on the mTLS listener', async () => {
    await expect(httpRequest(`http://${inbound.address('inbound')}/`)).rejects.toThrow();
  });
});

describe('TLS gateway: SNI chain selection and certificate rotation', () => {
  it('picks the filter chain by SNI and serves rotated certificates to new connections', async () => {
    const a = makeTestCert('a.example.com');
    const b = makeTestCert('b.example.com');
    const b2 = makeTestCert('b.example.com');
    const up = await startUpstream('app');
    const provider = new StaticCertificateProvider();
    provider.setTlsCertificate('b-cert', { certChain: b.cert, privateKey: b.key });
    const dp = new DataplaneClass({
      nodeId: 'gw',
      logger: silentLogger(),
      filters: registerBuiltinFilters(new FilterRegistry()),
      tls: { provider },
    });
    const chain = (host: string, tlsCtx: string, route: string) => `- filter_chain_match: {server_names: ["${host}"]}
  transport_socket:
    name: envoy.transport_sockets.tls
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
      common_tls_context:
${tlsCtx}
  filters:
  - name: envoy.filters.network.http_connection_manager
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      stat_prefix: ${route}
      route_config: {name: ${route}, virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 200, body: {inline_string: ${route}}}}]}]}
      http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]`;
    const listener = `
name: gw
address: {socket_address: {address: 127.0.0.1, port_value: 0}}
filter_chains:
${chain('a.example.com', `        tls_certificates: [{certificate_chain: {inline_string: ${JSON.stringify(a.cert)}}, private_key: {inline_string: ${JSON.stringify(a.key)}}}]`, 'route-a')}
${chain('*.example.com', '        tls_certificate_sds_secret_configs: [{name: b-cert}]', 'route-b')}
`;
    await dp.apply(yamlSnapshot({ listeners: [listener] }));
    const [host, port] = (dp.address('gw') as string).split(':');
    const get = (servername: string, ca: string) =>
      new Promise<string>((resolve, reject) => {
        const req = https.request(
          { host, port, servername, path: '/', ca, agent: false, checkServerIdentity: () => undefined },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve(body));
          },
        );
        req.on('error', reject);
        req.end();
      });
    expect(await get('a.example.com', a.ca)).toBe('route-a');
    expect(await get('b.example.com', b.ca)).toBe('route-b');
    provider.setTlsCertificate('b-cert', { certChain: b2.cert, privateKey: b2.key });
    expect(await get('b.example.com', b2.ca)).toBe('route-b');
    await expect(get('b.example.com', b.ca)).rejects.toThrow();
    await dp.stop();
    await up.close();
  });
});
