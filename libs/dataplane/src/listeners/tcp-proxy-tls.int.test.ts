/**
 * tcp_proxy to a cluster with an UpstreamTlsContext (Istio's ISTIO_MUTUAL for a TCP service): the
 * upstream connection is mutual TLS with SNI, the client certificate and secure naming on the
 * server's SPIFFE ID; a server with another identity gets no byte of the client's data and the
 * connection counts as a connect failure (UF).
 */
import net from 'node:net';
import tls from 'node:tls';
import { makeTestCert, waitFor } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import { tcpProxyListenerYaml, testEngine, yamlSnapshot } from '../engine/testing';
import type { StreamInfo } from '../http/stream-info';

const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/mongo';
const SNI = 'outbound_.27017_._.mongodb.default.svc.cluster.local';

describe('tcp_proxy over an upstream TLS transport socket', () => {
  jest.setTimeout(60_000);
  const server = makeTestCert('mongo', { uri: [SERVER_ID] });
  const client = makeTestCert('client', { uri: ['spiffe://cluster.local/ns/default/sa/app'] });
  /** What the TLS upstream saw: per connection, the SNI, the client's SANs and the bytes it got. */
  const seen: { sni: string; peer: string; bytes: string }[] = [];
  let upstream: tls.Server;
  let port = 0;
  let dp: Dataplane;
  let infos: StreamInfo[];

  beforeAll(async () => {
    upstream = tls.createServer(
      { cert: server.cert, key: server.key, ca: client.ca, requestCert: true, rejectUnauthorized: true },
      (s) => {
        const rec = {
          sni: (s as tls.TLSSocket & { servername?: string }).servername ?? '',
          peer: String(s.getPeerCertificate().subjectaltname ?? ''),
          bytes: '',
        };
        seen.push(rec);
        s.on('data', (c: Buffer) => {
          rec.bytes += c.toString('latin1');
          s.write(`echo:${c.toString('latin1')}`);
        });
        s.on('error', () => undefined);
      },
    );
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    port = (upstream.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await dp?.stop();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  async function start(expectedId: string): Promise<string> {
    await dp?.stop();
    dp = testEngine();
    infos = [];
    dp.onStreamComplete((i) => infos.push(i));
    const pem = (text: string) => JSON.stringify(text);
    await dp.apply(
      yamlSnapshot({
        listeners: [tcpProxyListenerYaml('tcp', 'mongo')],
        clusters: [
          `
name: mongo
type: STATIC
connect_timeout: 5s
load_assignment:
  cluster_name: mongo
  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${port}}}}}]}]
transport_socket:
  name: envoy.transport_sockets.tls
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
    sni: ${SNI}
    common_tls_context:
      alpn_protocols: [istio]
      tls_certificates:
      - certificate_chain: {inline_string: ${pem(client.cert)}}
        private_key: {inline_string: ${pem(client.key)}}
      validation_context:
        trusted_ca: {inline_string: ${pem(server.ca)}}
        match_typed_subject_alt_names: [{san_type: URI, matcher: {exact: "${expectedId}"}}]
`,
        ],
      }),
    );
    return dp.address('tcp') as string;
  }

  function exchange(address: string, send: string): Promise<string> {
    const [host, p] = address.split(':');
    return new Promise((resolve) => {
      const s = net.connect(Number(p), host);
      let got = '';
      s.on('data', (c: Buffer) => {
        got += c.toString('latin1');
        if (got.length >= send.length + 'echo:'.length) s.end();
      });
      s.on('error', () => undefined);
      s.on('close', () => resolve(got));
      s.setTimeout(10_000, () => s.destroy());
      s.write(send);
    });
  }

  it('opens mutual TLS upstream with SNI and the client certificate, and relays both ways', async () => {
    const address = await start(SERVER_ID);
    const before = seen.length;
    expect(await exchange(address, 'ping-over-mtls')).toBe('echo:ping-over-mtls');
    const conn = seen[before];
    expect(conn.sni).toBe(SNI);
    expect(conn.peer).toContain('URI:spiffe://cluster.local/ns/default/sa/app');
    expect(conn.bytes).toBe('ping-over-mtls');
    await waitFor(() => (infos.length > 0 ? true : undefined), { what: 'the stream info', timeoutMs: 10_000 });
    expect(infos[0].responseFlags).not.toContain('UF');
    expect(dp.stats.value('cluster.mongo.upstream_cx_connect_fail')).toBe(0);
  });

  it('refuses a server whose SPIFFE ID is not the expected one: nothing is sent, UF', async () => {
    const address = await start('spiffe://cluster.local/ns/default/sa/someone-else');
    const before = seen.length;
    expect(await exchange(address, 'secret')).toBe('');
    await waitFor(() => (infos.length > 0 ? true : undefined), { what: 'the stream info', timeoutMs: 10_000 });
    expect(infos[0].responseFlags).toContain('UF');
    expect(dp.stats.value('cluster.mongo.upstream_cx_connect_fail')).toBe(1);
    // The server may have seen the handshake, never the client's data.
    for (const c of seen.slice(before)) expect(c.bytes).toBe('');
  });
});
