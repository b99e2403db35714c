/**
 * mTLS end to end on loopback: a real Citadel process issues both proxies' certificates
 * (bootstrap tokens), two engines talk ISTIO_MUTUAL (SDS `default`/`ROOTCA` from the identity
 * providers, ALPN istio, secure naming), the server side runs STRICT or PERMISSIVE, and RBAC
 * sees the peer's SPIFFE ID as source.principal. Resources have the shape Pilot's security
 * compilers emit (apps/pilot/src/configgen/security/mtls.ts).
 */
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import tls from 'node:tls';
import { SeededRandom, silentLogger, systemClock } from '@tsmesh/core';
import { CaClient } from '@tsmesh/pki';
import { httpRequest, startApp, stopAllApps, tempDir, waitFor, type AppProcess } from '@tsmesh/testing';
import { Dataplane } from '../../engine/dataplane';
import { startUpstream, staticClusterYaml, yamlSnapshot, type TestUpstream } from '../../engine/testing';
import type { Msg } from '../../engine/types';
import { registerBuiltinFilters } from '../../filters/builtin';
import { rbacFilter } from '../../filters/http/rbac';
import { FilterRegistry } from '../../filters/types';
import { CitadelIdentityProvider } from './citadel-provider';

const PP = 'spiffe://cluster.local/ns/default/sa/productpage';
const REVIEWS = 'spiffe://cluster.local/ns/default/sa/reviews';
const SDS = { ads: {}, resource_api_version: 'V3' };
const STREAM_CHUNKS = 24;
const dir = tempDir('mtls-');
const tokens = { productpage: 'tok-productpage-000000000001', reviews: 'tok-reviews-00000000000000002' };

let citadel: AppProcess;
let app: TestUpstream;
const clients: CaClient[] = [];
const providers: CitadelIdentityProvider[] = [];
const engines: Dataplane[] = [];

async function identity(sa: keyof typeof tokens, id: string, ttlSeconds = 0): Promise<CitadelIdentityProvider> {
  const ca = new CaClient({ address: citadel.addresses['grpc'], token: tokens[sa], timeoutMs: 2000 });
  clients.push(ca);
  const p = new CitadelIdentityProvider({
    spiffeId: id,
    ca,
    clock: systemClock,
    random: new SeededRandom(1),
    logger: silentLogger(),
    ttlSeconds,
  }).start();
  providers.push(p);
  await p.ready();
  return p;
}

function engine(provider: CitadelIdentityProvider, name: string): Dataplane {
  const filters = registerBuiltinFilters(new FilterRegistry()).register(rbacFilter);
  const dp = new Dataplane({
    nodeId: `sidecar~127.0.0.1~${name}.default~default.svc.cluster.local`,
    logger: silentLogger(),
    filters,
    tls: { provider },
    drainMs: 50,
  });
  engines.push(dp);
  return dp;
}

const hcm = (stat: string, cluster: string, extra: Msg[] = []): Msg => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: stat,
    route_config: {
      name: stat,
      virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }],
    },
    http_filters: [
      ...extra,
      {
        name: 'envoy.filters.http.router',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
      },
    ],
  },
});

const downstreamTls = {
  name: 'envoy.transport_sockets.tls',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
    common_tls_context: {
      tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: SDS }],
      combined_validation_context: {
        default_validation_context: {},
        validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: SDS },
      },
      alpn_protocols: ['istio-peer-exchange', 'h2', 'http/1.1', 'istio'],
    },
    require_client_certificate: { value: true },
  },
};

const allowPrincipal = (principal: string) => ({
  name: 'envoy.filters.http.rbac',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
    rules: {
      action: 'ALLOW',
      policies: {
        'ns[default]-policy[p]-rule[0]': {
          permissions: [{ any: true }],
          principals: [{ authenticated: { principal_name: { exact: principal } } }],
        },
      },
    },
  },
});
const allowProductpage = allowPrincipal(PP);

function inboundListener(mode: 'STRICT' | 'PERMISSIVE', rbac: Msg[] = []): Msg {
  const tlsChain = {
    filter_chain_match: { transport_protocol: 'tls' },
    transport_socket: downstreamTls,
    filters: [hcm('inbound_9080', 'app', rbac)],
  };
  const plain = { filters: [hcm('inbound_9080', 'app', rbac)] };
  return {
    name: 'inbound',
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    listener_filters: [
      {
        name: 'envoy.filters.listener.tls_inspector',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
        },
      },
    ],
    filter_chains: mode === 'STRICT' ? [tlsChain] : [tlsChain, plain],
  };
}

function outboundCluster(name: string, address: string, sans: string[]): Msg {
  const [cluster] = yamlSnapshot({ clusters: [staticClusterYaml(name, [address])] }).clusters;
  cluster['transport_socket'] = {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: {
        tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: SDS }],
        combined_validation_context: {
          default_validation_context: {
            match_typed_subject_alt_names: sans.map((s) => ({ san_type: 'URI', matcher: { exact: s } })),
          },
          validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: SDS },
        },
        alpn_protocols: ['istio'],
      },
      sni: 'outbound_.9080_._.reviews.default.svc.cluster.local',
    },
  };
  return cluster;
}

async function serverSide(
  mode: 'STRICT' | 'PERMISSIVE',
  rbac: Msg[] = [],
  ttlSeconds = 0,
): Promise<{ dp: Dataplane; address: string }> {
  const dp = engine(await identity('reviews', REVIEWS, ttlSeconds), 'reviews');
  const snap = yamlSnapshot({ clusters: [staticClusterYaml('app', [app.address])] });
  snap.listeners.push(inboundListener(mode, rbac));
  await dp.apply(snap);
  return { dp, address: dp.address('inbound') as string };
}

async function clientSide(serverAddress: string, sans = [REVIEWS], ttlSeconds = 0): Promise<string> {
  const dp = engine(await identity('productpage', PP, ttlSeconds), 'productpage');
  const snap = yamlSnapshot({});
  snap.clusters.push(outboundCluster('outbound|9080||reviews.default.svc.cluster.local', serverAddress, sans));
  snap.listeners.push({
    name: 'outbound',
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{ filters: [hcm('outbound_9080', 'outbound|9080||reviews.default.svc.cluster.local')] }],
  });
  await dp.apply(snap);
  return `http://${dp.address('outbound')}`;
}

beforeAll(async () => {
  writeFileSync(
    join(dir.path, 'tokens'),
    `${tokens.productpage} default/productpage\n${tokens.reviews} default/reviews\n`,
  );
  citadel = await startApp('citadel', {
    args: [
      '--grpc-address',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--ca-dir',
      join(dir.path, 'ca'),
      '--bootstrap-tokens',
      join(dir.path, 'tokens'),
    ],
    ready: { listeners: ['grpc', 'http'] },
  });
  // `/stream` answers with one chunk every 500 ms for STREAM_CHUNKS chunks (a long-lived exchange);
  // `/slow` answers after 300 ms.
  app = await startUpstream('reviews-app', (seen, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': 'reviews-app' });
    if (seen.url.startsWith('/slow')) return void setTimeout(() => res.end('reviews-app'), 300);
    if (!seen.url.startsWith('/stream')) return res.end('reviews-app');
    let n = 0;
    const t = setInterval(() => {
      res.write(`chunk${n++}\n`);
      if (n === STREAM_CHUNKS) {
        clearInterval(t);
        res.end();
      }
    }, 500);
  });
});

afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
  for (const p of providers.splice(0)) p.stop();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await app?.close();
  await stopAllApps();
  dir.cleanup();
});

test('ISTIO_MUTUAL to a STRICT workload: 200, and RBAC sees the client SPIFFE ID', async () => {
  const server = await serverSide('STRICT', [allowProductpage]);
  const base = await clientSide(server.address);
  const r = await httpRequest(`${base}/reviews/1`, { headers: { host: 'reviews:9080' } });
  expect(r.status).toBe(200);
  expect(r.body).toBe('reviews-app');
  expect(server.dp.stats.value('http.inbound_9080.rbac.allowed')).toBe(1);
});

test('plaintext to a STRICT workload gets no application bytes through', async () => {
  const server = await serverSide('STRICT');
  const before = app.requests.length;
  await expect(httpRequest(`http://${server.address}/reviews/1`, { timeoutMs: 2000 })).rejects.toThrow();
  expect(app.requests.length).toBe(before);
});

test('a TLS client without a mesh certificate is refused by STRICT', async () => {
  const server = await serverSide('STRICT');
  const [host, port] = server.address.split(':');
  const before = app.requests.length;
  const outcome = await new Promise<string>((resolve) => {
    const s = tls.connect({ host, port: Number(port), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    });
    s.on('data', (d) => resolve(`data:${d.toString().slice(0, 12)}`));
    s.on('error', (e) => resolve(`error:${e.message}`));
    s.on('close', () => resolve('closed'));
  });
  expect(outcome).not.toMatch(/^data:HTTP\/1.1 200/);
  expect(app.requests.length).toBe(before);
});

test('PERMISSIVE: plaintext and mTLS both reach the app; identity only on mTLS', async () => {
  const server = await serverSide('PERMISSIVE');
  expect((await httpRequest(`http://${server.address}/plain`)).status).toBe(200);
  const base = await clientSide(server.address);
  expect((await httpRequest(`${base}/mtls`)).status).toBe(200);
});

test('PERMISSIVE + RBAC on the peer principal: plaintext gets 403, the mTLS client 200', async () => {
  const server = await serverSide('PERMISSIVE', [allowProductpage]);
  const plain = await httpRequest(`http://${server.address}/plain`);
  expect(plain.status).toBe(403);
  expect(plain.body).toBe('RBAC: access denied');
  const base = await clientSide(server.address);
  expect((await httpRequest(`${base}/mtls`)).status).toBe(200);
});

test('a valid mesh certificate of another service account is denied by RBAC (403)', async () => {
  const server = await serverSide('STRICT', [allowPrincipal('spiffe://cluster.local/ns/default/sa/ratings')]);
  const base = await clientSide(server.address);
  const r = await httpRequest(`${base}/reviews/1`);
  expect(r.status).toBe(403);
  expect(r.body).toBe('RBAC: access denied');
});

test('secure naming: a server whose SAN is not the expected service account is refused', async () => {
  const server = await serverSide('STRICT');
  const base = await clientSide(server.address, ['spiffe://cluster.local/ns/default/sa/ratings']);
  const before = app.requests.length;
  const r = await httpRequest(`${base}/reviews/1`);
  expect(r.status).toBe(503);
  expect(app.requests.length).toBe(before);
});

test('rotation: new certificates serve new connections; Citadel down keeps the current ones working', async () => {
  const server = await serverSide('STRICT', [allowProductpage]);
  const base = await clientSide(server.address);
  expect((await httpRequest(`${base}/a`)).status).toBe(200);
  const serverId = providers[0];
  const oldChain = serverId.current()?.certChainPem;
  await serverId.renew();
  expect(serverId.current()?.certChainPem).not.toBe(oldChain);
  expect((await httpRequest(`${base}/b`)).status).toBe(200);
  const grpcAddress = citadel.addresses['grpc'];
  await citadel.stop();
  const during = serverId.current()?.certChainPem;
  await serverId.renew();
  expect(serverId.failures['unreachable'] ?? 0).toBeGreaterThanOrEqual(1);
  expect(serverId.current()?.certChainPem).toBe(during);
  expect((await httpRequest(`${base}/c`)).status).toBe(200);
  // Citadel back on the same address (same CA dir, same root): renewal resumes.
  citadel = await startApp('citadel', {
    args: [
      '--grpc-address',
      grpcAddress,
      '--http-address',
      '127.0.0.1:0',
      '--ca-dir',
      join(dir.path, 'ca'),
      '--bootstrap-tokens',
      join(dir.path, 'tokens'),
    ],
    ready: { listeners: ['grpc', 'http'] },
  });
  // The gRPC channel reconnects with backoff; the provider's own retry loop does the same.
  await waitFor(
    async () => {
      await serverId.renew();
      return serverId.current()?.certChainPem !== during;
    },
    { timeoutMs: 20_000 },
  );
  expect((await httpRequest(`${base}/d`)).status).toBe(200);
});

/** GET over `agent` (keep-alive) or a fresh connection (`agent: false`); status and body. */
function get(url: string, agent: http.Agent | false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/**
 * One request on a fresh mutual-TLS connection straight to the inbound listener, presenting the
 * client provider's current certificate; returns the status and the serial the server presented.
 */
function freshMtls(address: string, p: CitadelIdentityProvider): Promise<{ status: number; serverSerial: string }> {
  const m = p.current() as NonNullable<ReturnType<CitadelIdentityProvider['current']>>;
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    let serverSerial = '';
    let data = '';
    const s = tls.connect(
      {
        host,
        port: Number(port),
        key: m.privateKeyPem,
        cert: m.certChainPem,
        ca: m.rootCertPem,
        ALPNProtocols: ['istio'],
        servername: 'reviews',
        checkServerIdentity: () => undefined,
      },
      () => {
        serverSerial = s.getPeerX509Certificate()?.serialNumber ?? '';
        s.write('GET /fresh HTTP/1.1\r\nhost: reviews\r\nconnection: close\r\n\r\n');
      },
    );
    s.setEncoding('utf8');
    s.on('data', (d: string) => (data += d));
    s.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0), serverSerial }));
    s.on('error', reject);
  });
}

const serial = (pem: string) => new X509Certificate(pem).serialNumber;

test('rotating certificates every few seconds under load drops no request (keep-alive and new connections)', async () => {
  // Both workloads ask Citadel for 4 s certificates: each side renews about every 2 s.
  const server = await serverSide('STRICT', [allowProductpage], 4);
  const base = await clientSide(server.address, [REVIEWS], 4);
  const [serverId, clientId] = providers;
  const firstClient = clientId.current() as NonNullable<ReturnType<CitadelIdentityProvider['current']>>;
  const rotations = {
    server: [serial(serverId.current()?.certChainPem ?? '')],
    client: [serial(firstClient.certChainPem)],
  };
  serverId.onRotate((m) => rotations.server.push(serial(m.certChainPem)));
  clientId.onRotate((m) => rotations.client.push(serial(m.certChainPem)));

  // A long exchange (24 chunks, 12 s) through both proxies, opened before any rotation: its
  // mutual-TLS connection must outlive several rotations and the expiry of its certificates.
  const atStreamStart = { server: rotations.server.length, client: rotations.client.length };
  let streaming = true;
  const stream = get(`${base}/stream`, false).finally(() => (streaming = false));

  const statuses: Record<string, number[]> = { keepAlive: [], newConnection: [], freshMtls: [] };
  const wireServerSerials = new Set<string>();
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const loop = async (fn: () => Promise<void>) => {
    while (streaming) await fn();
  };
  await Promise.all([
    ...Array.from({ length: 4 }, () =>
      loop(async () => void statuses.keepAlive.push((await get(`${base}/ka`, keepAlive)).status)),
    ),
    ...Array.from({ length: 2 }, () =>
      loop(async () => void statuses.newConnection.push((await get(`${base}/new`, false)).status)),
    ),
    loop(async () => {
      const r = await freshMtls(server.address, clientId);
      statuses.freshMtls.push(r.status);
      wireServerSerials.add(r.serverSerial);
      await new Promise((res) => setTimeout(res, 50));
    }),
  ]);
  const streamed = await stream;
  const streamEnded = Date.now();
  keepAlive.destroy();

  // The long exchange arrived whole, after the client certificate of its connection expired.
  expect(streamed.status).toBe(200);
  expect(streamed.body.split('\n').filter(Boolean)).toHaveLength(STREAM_CHUNKS);
  expect(firstClient.notAfter).toBeLessThan(streamEnded);
  // Rotations really happened while it ran: new serials on both sides, and on the wire.
  expect(rotations.server.length - atStreamStart.server).toBeGreaterThanOrEqual(3);
  expect(rotations.client.length - atStreamStart.client).toBeGreaterThanOrEqual(3);
  expect(new Set(rotations.server).size).toBe(rotations.server.length);
  expect(new Set(rotations.client).size).toBe(rotations.client.length);
  expect(wireServerSerials.size).toBeGreaterThanOrEqual(3);
  // Every request of the steady stream succeeded.
  for (const [kind, list] of Object.entries(statuses)) {
    expect({ kind, failed: list.filter((x) => x !== 200) }).toEqual({ kind, failed: [] });
    expect({ kind, enough: list.length >= 10 }).toEqual({ kind, enough: true });
  }

  // A burst of slow requests wider than the client proxy's pool, after every first-generation
  // certificate expired:
  // the new upstream connections can only succeed with rotated client certificates.
  const cluster = 'cluster.outbound|9080||reviews.default.svc.cluster.local';
  const client = engines[1];
  const cxBefore = client.stats.value(`${cluster}.upstream_cx_total`);
  const burst = await Promise.all(Array.from({ length: 24 }, () => get(`${base}/slow`, false)));
  expect(burst.map((r) => r.status).filter((x) => x !== 200)).toEqual([]);
  expect(client.stats.value(`${cluster}.upstream_cx_total`)).toBeGreaterThan(cxBefore);
  expect(client.stats.value(`${cluster}.upstream_cx_connect_fail`)).toBe(0);
}, 60_000);
