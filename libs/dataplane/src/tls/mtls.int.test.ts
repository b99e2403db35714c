import http2 from 'node:http2';
import { httpRequest, makeTestCert, type TestCert } from '@tsmesh/testing';
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
  });

  it('rejects plaintext clients on the mTLS listener', async () => {
    await expect(httpRequest(`http://${inbound.address('inbound')}/`)).rejects.toThrow();
  });
});
