import { X509Certificate, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { generateKey, issueCertificate, privateKeyToPem, selfSignedRoot } from '@tsmesh/pki';
import { StatsStore } from '../../stats/store';
import { HandshakeStats, checkPeer, type PeerCheck } from './handshake';

const DAY = 86_400_000;
const ID = 'spiffe://cluster.local/ns/default/sa/productpage';
const now = Date.now();

async function ca() {
  const k = await generateKey();
  return { key: k.privateKey, pem: selfSignedRoot(k.privateKey, 'cluster.local', 30 * DAY, now - DAY) };
}
async function leaf(root: { key: KeyObject; pem: string }, uri: string, notBefore = now, ttl = DAY) {
  const k = await generateKey();
  const cert = issueCertificate({
    subjectKey: k.publicKey,
    sans: { uris: [uri] },
    ttlMs: ttl,
    now: notBefore,
    issuer: new X509Certificate(root.pem),
    signingKey: root.key,
  });
  return { key: privateKeyToPem(k.privateKey), cert };
}

let mesh: Awaited<ReturnType<typeof ca>>;
let server: tls.Server;
let port = 0;
const stats = new StatsStore();
const hs = new HandshakeStats(stats, 'listener.inbound.');
const results: PeerCheck[] = [];
let appBytes = 0;

beforeAll(async () => {
  mesh = await ca();
  const srv = await leaf(mesh, 'spiffe://cluster.local/ns/default/sa/reviews');
  server = tls.createServer(
    { key: srv.key, cert: srv.cert, ca: mesh.pem, requestCert: true, rejectUnauthorized: false },
    (ts) => {
      const check = checkPeer(ts, true, [(s) => s === ID]);
      hs.record(check);
      results.push(check);
      if (!check.ok) return void ts.destroy();
      ts.on('data', (d: Buffer) => {
        appBytes += d.length;
        ts.end('ok');
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function connect(client: { key: string; cert: string } | null): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect(
      { host: '127.0.0.1', port, ...(client ?? {}), ca: mesh.pem, checkServerIdentity: () => undefined },
      () => s.write('GET / HTTP/1.1\r\n\r\n'),
    );
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });
}

test.each([
  ['expired', async () => leaf(mesh, ID, now - 5 * DAY, DAY), 'expired'],
  ['not yet valid', async () => leaf(mesh, ID, now + 5 * DAY, DAY), 'not_yet_valid'],
  ['signed by another CA', async () => leaf(await ca(), ID), 'unknown_ca'],
  ['wrong service account', async () => leaf(mesh, 'spiffe://cluster.local/ns/default/sa/ratings'), 'san_mismatch'],
  ['SAN with an embedded NUL', async () => leaf(mesh, `${ID}\u0000evil`), 'san_mismatch'],
  ['no certificate', async () => null, 'no_certificate'],
])('client certificate %s: refused before any application byte, counted by reason', async (_name, make, reason) => {
  const before = appBytes;
  const counted = stats.value(`listener.inbound.ssl.fail_verify_${reason}`);
  const got = await connect(await make());
  expect(got).toBe('');
  expect(appBytes).toBe(before);
  expect(results[results.length - 1]).toMatchObject({ ok: false, reason });
  expect(stats.value(`listener.inbound.ssl.fail_verify_${reason}`)).toBe(counted + 1);
});

test('a valid mesh certificate for the allowed identity is accepted', async () => {
  expect(await connect(await leaf(mesh, ID))).toBe('ok');
  expect(results[results.length - 1]).toEqual({ ok: true, peerIdentity: ID });
  expect(stats.value('listener.inbound.ssl.handshake')).toBe(1);
  expect(stats.value('listener.inbound.ssl.fail_verify_error')).toBe(3);
  expect(stats.value('listener.inbound.ssl.fail_verify_san')).toBe(2);
  expect(stats.value('listener.inbound.ssl.fail_verify_no_cert')).toBe(1);
});
