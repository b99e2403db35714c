import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import { silentLogger } from '@tsmesh/core';
import { makeTestCert, type TestCert } from '@tsmesh/testing';
import { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  yamlSnapshot,
  type TestUpstream,
} from '../engine/testing';
import { registerBuiltinFilters } from '../filters/builtin';
import { FilterRegistry } from '../filters/types';
import { formatResponseFlags, type StreamInfo } from '../http/stream-info';

const SPIFFE = 'spiffe://cluster.local/ns/default/sa/reviews';
const CLUSTER = 'outbound|9080||reviews.default.svc.cluster.local';
const REQUESTS = 500;
const CONNECTIONS = 16;

/** Sends `n` GETs over `connections` keep-alive downstream connections, `connections` at a time. */
async function load(base: string, n: number, connections: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const statuses: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      statuses.push(
        await new Promise<number>((resolve, reject) => {
          const req = http.get(`${base}/r`, { agent, headers: { host: 'reviews:9080' } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  agent.destroy();
  return statuses;
}

describe('mTLS between two hops under concurrent keep-alive load', () => {
  let app: TestUpstream;
  let server: Dataplane;
  let client: Dataplane;
  const flags: string[] = [];
  let cert: TestCert;

  beforeAll(async () => {
    cert = makeTestCert('reviews', { uri: [SPIFFE] });
    const pem = (s: string) => JSON.stringify(s);
    const common = `common_tls_context:
        tls_certificates:
        - certificate_chain: {inline_string: ${pem(cert.cert)}}
          private_key: {inline_string: ${pem(cert.key)}}
        validation_context:
          trusted_ca: {inline_string: ${pem(cert.ca)}}`;
    app = await startUpstream('reviews-app');
    server = new Dataplane({
      nodeId: 'server-hop',
      logger: silentLogger(),
      filters: registerBuiltinFilters(new FilterRegistry()),
      drainMs: 10,
    });
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
      ${common.replace(/\n {8}/g, '\n        ')}
  filters:`,
          ),
        ],
        routes: [
          `name: in\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: app}}]}]`,
        ],
        clusters: [staticClusterYaml('app', [app.address])],
      }),
    );
    client = testEngine();
    client.onStreamComplete((i: StreamInfo) => flags.push(formatResponseFlags(i.responseFlags)));
    await client.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('outbound', 'out')],
        routes: [
          `name: out\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: "${CLUSTER}"}}]}]`,
        ],
        clusters: [
          staticClusterYaml(
            CLUSTER,
            [server.address('inbound') as string],
            `transport_socket:
  name: envoy.transport_sockets.tls
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
    sni: outbound_.9080_._.reviews.default.svc.cluster.local
    ${common.replace(/\n {6}/g, '\n    ')}
        match_subject_alt_names: [{exact: "${SPIFFE}"}]`,
          ),
        ],
      }),
    );
  });
  afterAll(async () => {
    await client?.stop();
    await server?.stop();
    await app?.close();
  });

  it('answers every request and reuses pooled upstream TLS connections', async () => {
    const statuses = await load(`http://${client.address('outbound')}`, REQUESTS, CONNECTIONS);
    const v = (n: string) => client.stats.value(`cluster.${CLUSTER}.${n}`);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(v('upstream_rq_total')).toBe(REQUESTS);
    expect(v('upstream_cx_connect_fail')).toBe(0);
    // One connection per concurrent downstream stream at most, then reused: far below REQUESTS.
    expect(v('upstream_cx_total')).toBeLessThanOrEqual(CONNECTIONS);
    expect(flags.filter((f) => f !== '-')).toEqual([]);
  });

  it('resumes a cached TLS session on a new connection to the client-certificate-verifying listener', async () => {
    const [host, port] = (server.address('inbound') as string).split(':');
    const agent = new https.Agent({
      keepAlive: false,
      cert: cert.cert,
      key: cert.key,
      ca: cert.ca,
      maxCachedSessions: 10,
    });
    const get = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = https.get(
          { host, port, path: '/', agent, servername: 'reviews', checkServerIdentity: () => undefined },
          (res) => {
            const reused = (res.socket as tls.TLSSocket).isSessionReused();
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, reused }));
          },
        );
        req.on('error', reject);
      });
    const first = await get();
    const second = await get();
    agent.destroy();
    expect([first, second]).toEqual([
      { status: 200, reused: false },
      { status: 200, reused: true },
    ]);
  });
});
