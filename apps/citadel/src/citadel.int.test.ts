import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, renderConfigDoc, renderErrorsDoc, silentLogger, syncDocSection, metricValue } from '@tsmesh/core';
import {
  CaClient,
  buildCsr,
  generateKey,
  inspectCertificate,
  issueCertificate,
  privateKeyToPem,
  selfSignedRoot,
  splitPemChain,
  verifyChain,
} from '@tsmesh/pki';
import { httpRequest, tempDir, type TempDir } from '@tsmesh/testing';
import { startCitadel, type RunningCitadel } from './citadel';
import { citadelErrors } from './errors';
import { citadelConfig } from './settings';

const TOKEN_A = 'tok-productpage-0123456789';
const TOKEN_B = 'tok-reviews-0123456789abcd';
const PP = 'spiffe://cluster.local/ns/default/sa/productpage';

let dir: TempDir;
let citadel: RunningCitadel;
const clients: CaClient[] = [];

function client(token: string, address = citadel.grpcAddress) {
  const c = new CaClient({ address, token });
  clients.push(c);
  return c;
}

function settings(extra: string[] = []) {
  return parseConfig(
    citadelConfig,
    [
      '--grpc-address',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--ca-dir',
      join(dir.path, 'ca'),
      '--bootstrap-tokens',
      join(dir.path, 'tokens'),
      ...extra,
    ],
    {},
  ).settings;
}

beforeAll(async () => {
  dir = tempDir('citadel-');
  writeFileSync(
    join(dir.path, 'tokens'),
    `# launcher tokens\n${TOKEN_A} default/productpage\n${TOKEN_B} default/reviews\n`,
  );
  citadel = await startCitadel(settings(), { logger: silentLogger() });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await citadel?.stop();
  dir?.cleanup();
});

test('docs are in step', () => {
  expect(syncDocSection(join(__dirname, '../../../docs/errors.md'), renderErrorsDoc(citadelErrors))).toBeNull();
  expect(syncDocSection(join(__dirname, '../../../docs/config.md'), renderConfigDoc(citadelConfig))).toBeNull();
});

test('self-signed root is persisted with a 0600 key and reused on restart', async () => {
  const keyFile = join(dir.path, 'ca', 'ca-key.pem');
  expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  const root = new X509Certificate(readFileSync(join(dir.path, 'ca', 'ca-cert.pem')));
  expect(root.ca).toBe(true);
  expect(Date.parse(root.validTo) - Date.now()).toBeGreaterThan(9 * 365 * 86_400_000);
  const again = await startCitadel(settings(), { logger: silentLogger() });
  try {
    expect(again.ca.root.raw.equals(citadel.ca.root.raw)).toBe(true);
  } finally {
    await again.stop();
  }
});

test('signs a CSR for the proved identity: chain leaf → root, 24h default TTL', async () => {
  const k = await generateKey();
  const chain = await client(TOKEN_A).createCertificate(buildCsr(k.privateKey, { uris: [PP] }));
  expect(chain).toHaveLength(2);
  const [leaf, root] = chain.map((p) => new X509Certificate(p));
  expect(inspectCertificate(leaf).sans.uris).toEqual([PP]);
  expect(verifyChain(leaf, [], [root], Date.now())).toMatchObject({ ok: true });
  const life = Date.parse(leaf.validTo) - Date.parse(leaf.validFrom);
  expect(life).toBe(24 * 3_600_000 + 60_000);
  expect(
    await metricValue(citadel.metrics.registry, 'citadel_server_success_cert_issuance_count'),
  ).toBeGreaterThanOrEqual(1);
});

test('a CSR without SANs gets the proved identity; requested TTL is honoured', async () => {
  const k = await generateKey('rsa-2048');
  const [leafPem] = await client(TOKEN_B).createCertificate(buildCsr(k.privateKey), 3600);
  const leaf = new X509Certificate(leafPem);
  expect(inspectCertificate(leaf).sans.uris).toEqual(['spiffe://cluster.local/ns/default/sa/reviews']);
  expect(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)).toBe(3_600_000 + 60_000);
});

test.each([
  ['another service account', [`spiffe://cluster.local/ns/default/sa/reviews`]],
  ['another namespace', [`spiffe://cluster.local/ns/prod/sa/productpage`]],
  ['another trust domain', [`spiffe://evil.example/ns/default/sa/productpage`]],
  ['two identities', [PP, 'spiffe://cluster.local/ns/default/sa/reviews']],
  ['an embedded NUL', [`${PP}\u0000evil`]],
])('refuses a CSR for %s (PERMISSION_DENIED, counted)', async (_what, uris) => {
  const before = await metricValue(citadel.metrics.registry, 'citadel_server_csr_failure_count', {
    reason: 'identity_mismatch',
  });
  const k = await generateKey();
  await expect(client(TOKEN_A).createCertificate(buildCsr(k.privateKey, { uris }))).rejects.toMatchObject({
    code: 7,
    details: expect.stringContaining('CITADEL_ERR_IDENTITY_MISMATCH'),
  });
  expect(
    await metricValue(citadel.metrics.registry, 'citadel_server_csr_failure_count', { reason: 'identity_mismatch' }),
  ).toBe(before + 1);
});

test('refuses DNS SANs, unknown tokens, garbage CSRs and TTLs above the maximum', async () => {
  const k = await generateKey();
  await expect(
    client(TOKEN_A).createCertificate(buildCsr(k.privateKey, { uris: [PP], dns: ['evil.com'] })),
  ).rejects.toMatchObject({ code: 7 });
  await expect(
    client('not-a-real-token-xxxxxxxx').createCertificate(buildCsr(k.privateKey, { uris: [PP] })),
  ).rejects.toMatchObject({ code: 16 });
  await expect(client(TOKEN_A).createCertificate('garbage')).rejects.toMatchObject({ code: 3 });
  await expect(
    client(TOKEN_A).createCertificate(buildCsr(k.privateKey, { uris: [PP] }), 91 * 86400),
  ).rejects.toMatchObject({ code: 3, details: expect.stringMatching(/maximum/) });
  expect(
    await metricValue(citadel.metrics.registry, 'citadel_server_csr_failure_count', { reason: 'unauthenticated' }),
  ).toBeGreaterThanOrEqual(1);
});

test('an oversized request is refused and the server keeps serving', async () => {
  const huge = `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(100_000)}\n-----END CERTIFICATE REQUEST-----\n`;
  await expect(client(TOKEN_A).createCertificate(huge)).rejects.toMatchObject({ code: 8 });
  const k = await generateKey();
  await expect(client(TOKEN_A).createCertificate(buildCsr(k.privateKey, { uris: [PP] }))).resolves.toHaveLength(2);
});

test('tokens file is re-read when it changes', async () => {
  const newToken = 'tok-ratings-0123456789abcdef';
  const k = await generateKey();
  const csr = buildCsr(k.privateKey, { uris: ['spiffe://cluster.local/ns/default/sa/ratings'] });
  await expect(client(newToken).createCertificate(csr)).rejects.toMatchObject({ code: 16 });
  writeFileSync(join(dir.path, 'tokens'), `${TOKEN_A} default/productpage\n${newToken} default/ratings\n`);
  await expect(client(newToken).createCertificate(csr)).resolves.toHaveLength(2);
});

test('HTTP: root bundle, metrics, readiness; key never served', async () => {
  const base = `http://${citadel.httpAddress}`;
  const root = await httpRequest(`${base}/root-cert.pem`);
  expect(root.status).toBe(200);
  expect(root.body).toBe(citadel.ca.rootPem);
  expect(root.body).not.toMatch(/PRIVATE KEY/);
  const metrics = await httpRequest(`${base}/metrics`);
  expect(metrics.body).toMatch(/citadel_server_root_cert_expiry_timestamp \d/);
  expect(metrics.body).not.toMatch(/PRIVATE KEY/);
  expect((await httpRequest(`${base}/ready`)).status).toBe(200);
  expect((await httpRequest(`${base}/ca-key.pem`)).status).toBe(404);
});

test('plugged-in intermediate (cacerts layout) signs; chain is leaf, intermediate, root', async () => {
  const DAY = 86_400_000;
  const rootKey = await generateKey();
  const rootPem = selfSignedRoot(rootKey.privateKey, 'cluster.local', 3650 * DAY, Date.now());
  const interKey = await generateKey();
  const interPem = issueCertificate({
    subjectKey: interKey.publicKey,
    subject: [
      ['O', 'cluster.local'],
      ['CN', 'intermediate'],
    ],
    isCa: true,
    ttlMs: 365 * DAY,
    now: Date.now(),
    issuer: new X509Certificate(rootPem),
    signingKey: rootKey.privateKey,
  });
  const cacerts = join(dir.path, 'cacerts');
  require('node:fs').mkdirSync(cacerts);
  writeFileSync(join(cacerts, 'ca-cert.pem'), interPem);
  writeFileSync(join(cacerts, 'ca-key.pem'), privateKeyToPem(interKey.privateKey), { mode: 0o600 });
  writeFileSync(join(cacerts, 'root-cert.pem'), rootPem);
  writeFileSync(join(cacerts, 'cert-chain.pem'), interPem + rootPem);
  const plugged = await startCitadel(settings(['--cacerts-dir', cacerts]), { logger: silentLogger() });
  try {
    expect(plugged.ca.source).toBe('plugged-in');
    const k = await generateKey();
    const chain = await client(TOKEN_A, plugged.grpcAddress).createCertificate(buildCsr(k.privateKey, { uris: [PP] }));
    expect(chain).toHaveLength(3);
    const certs = splitPemChain(chain.join(''));
    expect(verifyChain(certs[0], [certs[1]], [certs[2]], Date.now())).toMatchObject({ ok: true });
    // Mismatched key: refused at start-up with a clear code.
    writeFileSync(join(cacerts, 'ca-key.pem'), privateKeyToPem(rootKey.privateKey));
    await expect(startCitadel(settings(['--cacerts-dir', cacerts]), { logger: silentLogger() })).rejects.toMatchObject({
      code: 'CITADEL_ERR_CA_LOAD',
    });
  } finally {
    await plugged.stop();
  }
});

test('--grpc-tls: the CA API over TLS, verified with the root from /root-cert.pem', async () => {
  const secure = await startCitadel(settings(['--grpc-tls']), { logger: silentLogger() });
  try {
    const root = (await httpRequest(`http://${secure.httpAddress}/root-cert.pem`)).body;
    const c = new CaClient({ address: secure.grpcAddress, token: TOKEN_A, rootCertPem: root });
    clients.push(c);
    const k = await generateKey();
    await expect(c.createCertificate(buildCsr(k.privateKey, { uris: [PP] }))).resolves.toHaveLength(2);
    const plain = client(TOKEN_A, secure.grpcAddress);
    await expect(plain.createCertificate(buildCsr(k.privateKey, { uris: [PP] }))).rejects.toMatchObject({ code: 14 });
  } finally {
    await secure.stop();
  }
});

test('Kubernetes TokenReview: only system:serviceaccount users prove an identity', async () => {
  const reviews: string[] = [];
  const kube = await startCitadel(settings(['--kube-token-review']), {
    logger: silentLogger(),
    tokenReview: async (token) => {
      reviews.push(token);
      if (token === 'sa-token-productpage')
        return { authenticated: true, user: { username: 'system:serviceaccount:default:productpage' } };
      if (token === 'user-token') return { authenticated: true, user: { username: 'alice' } };
      return { authenticated: false };
    },
  });
  try {
    const k = await generateKey();
    const csr = buildCsr(k.privateKey, { uris: [PP] });
    await expect(client('sa-token-productpage', kube.grpcAddress).createCertificate(csr)).resolves.toHaveLength(2);
    await expect(client('user-token', kube.grpcAddress).createCertificate(csr)).rejects.toMatchObject({ code: 16 });
    expect(reviews).toEqual(['sa-token-productpage', 'user-token']);
  } finally {
    await kube.stop();
  }
});
