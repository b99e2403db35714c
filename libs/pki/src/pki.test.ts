import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syncDocSection, renderErrorsDoc } from '@tsmesh/core';
import { buildCsr, parseCsr } from './csr';
import { inspectCertificate, issueCertificate, selfSignedRoot, splitPemChain } from './cert';
import { generateKey, publicKeyOf } from './keys';
import { matchesUriSan, spiffeIdOf, verifyChain } from './verify';
import { pkiErrors } from './errors';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const ID = 'spiffe://cluster.local/ns/default/sa/productpage';

async function ca(alg: 'ec-p256' | 'rsa-2048' = 'ec-p256', now = NOW) {
  const k = await generateKey(alg);
  const cert = new X509Certificate(selfSignedRoot(k.privateKey, 'cluster.local', 3650 * DAY, now));
  return { key: k.privateKey, cert };
}

function leafFor(
  root: { key: import('node:crypto').KeyObject; cert: X509Certificate },
  subjectKey: import('node:crypto').KeyObject,
  uris: string[],
  now = NOW,
  ttl = DAY,
) {
  return new X509Certificate(
    issueCertificate({ subjectKey, sans: { uris }, ttlMs: ttl, now, issuer: root.cert, signingKey: root.key }),
  );
}

test('errors doc is in step', () => {
  expect(syncDocSection(join(__dirname, '../../../docs/errors.md'), renderErrorsDoc(pkiErrors))).toBeNull();
});

test.each(['ec-p256', 'rsa-2048'] as const)('CSR round trip with %s keys', async (alg) => {
  const k = await generateKey(alg);
  const pem = buildCsr(k.privateKey, { uris: [ID], dns: ['productpage.default.svc'] });
  const parsed = parseCsr(pem);
  expect(parsed.sans).toEqual({ uris: [ID], dns: ['productpage.default.svc'], ips: [] });
  expect(parsed.publicKey.equals(k.publicKey)).toBe(true);
});

test('a CSR whose signature was tampered with is refused', async () => {
  const k = await generateKey();
  const der = Buffer.from(buildCsr(k.privateKey, { uris: [ID] }).replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 5] ^= 0xff;
  const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  expect(() => parseCsr(pem)).toThrow(/signature|malformed/);
});

test.each([
  ['', /exactly one/],
  ['-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----', /malformed/],
  ['x'.repeat(20000), /16 KiB/],
])('garbage CSR %# is refused with a reason', (pem, why) => {
  expect(() => parseCsr(pem)).toThrow(why);
});

test('openssl accepts our CSR and our certificates', async () => {
  const root = await ca();
  const k = await generateKey();
  const csr = buildCsr(k.privateKey, { uris: [ID] });
  const leaf = leafFor(root, k.publicKey, [ID], Date.now());
  const rootNow = new X509Certificate(selfSignedRoot(root.key, 'cluster.local', DAY, Date.now()));
  const leafNow = leafFor({ key: root.key, cert: rootNow }, k.publicKey, [ID], Date.now());
  const dir = mkdtempSync(join(tmpdir(), 'pki-'));
  try {
    writeFileSync(join(dir, 'csr.pem'), csr);
    writeFileSync(join(dir, 'root.pem'), rootNow.toString());
    writeFileSync(join(dir, 'leaf.pem'), leafNow.toString());
    const req = execFileSync('openssl', ['req', '-in', 'csr.pem', '-noout', '-verify', '-text'], {
      cwd: dir,
      stdio: 'pipe',
    }).toString();
    expect(req).toContain(`URI:${ID}`);
    const v = execFileSync('openssl', ['verify', '-CAfile', 'root.pem', 'leaf.pem'], {
      cwd: dir,
      stdio: 'pipe',
    }).toString();
    expect(v).toContain('leaf.pem: OK');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(leaf.subjectAltName).toContain(ID);
});

test('issued leaf: SAN, key usage, validity and chain', async () => {
  const root = await ca();
  const k = await generateKey();
  const leaf = leafFor(root, k.publicKey, [ID]);
  const info = inspectCertificate(leaf);
  expect(info.sans.uris).toEqual([ID]);
  expect(info.isCa).toBe(false);
  expect(info.notAfter - NOW).toBe(DAY);
  expect(leaf.checkPrivateKey(k.privateKey)).toBe(true);
  expect(leaf.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
  expect(verifyChain(leaf, [], [root.cert], NOW + 1000)).toMatchObject({ ok: true });
  expect(spiffeIdOf(leaf)).toBe(ID);
  expect(matchesUriSan(leaf, [ID])).toBe(true);
  expect(matchesUriSan(leaf, ['spiffe://cluster.local/ns/default/sa/reviews'])).toBe(false);
});

test('chain failures carry a reason', async () => {
  const root = await ca();
  const other = await ca();
  const k = await generateKey();
  const leaf = leafFor(root, k.publicKey, [ID]);
  expect(verifyChain(leaf, [], [root.cert], NOW + 2 * DAY)).toMatchObject({ ok: false, reason: 'expired' });
  expect(verifyChain(leaf, [], [root.cert], NOW - 2 * DAY)).toMatchObject({ ok: false, reason: 'not_yet_valid' });
  expect(verifyChain(leaf, [], [other.cert], NOW)).toMatchObject({ ok: false, reason: 'unknown_ca' });
  // Same subject name, different key: issuer found by name but the signature fails.
  const imposter = { key: other.key, cert: other.cert };
  const forged = leafFor(imposter, k.publicKey, [ID]);
  expect(verifyChain(forged, [], [root.cert], NOW)).toMatchObject({ ok: false });
});

test('intermediate CA chains verify to the root', async () => {
  const root = await ca('rsa-2048');
  const interKey = await generateKey();
  const inter = new X509Certificate(
    issueCertificate({
      subjectKey: interKey.publicKey,
      subject: [
        ['O', 'cluster.local'],
        ['CN', 'intermediate'],
      ],
      isCa: true,
      ttlMs: 365 * DAY,
      now: NOW,
      issuer: root.cert,
      signingKey: root.key,
    }),
  );
  const k = await generateKey();
  const leaf = leafFor({ key: interKey.privateKey, cert: inter }, k.publicKey, [ID]);
  const r = verifyChain(leaf, [inter], [root.cert], NOW + 1000);
  expect(r).toMatchObject({ ok: true });
  if (r.ok) expect(r.chain).toHaveLength(3);
  expect(splitPemChain(leaf.toString() + inter.toString())).toHaveLength(2);
  // A leaf cannot act as a CA.
  const k2 = await generateKey();
  const sub = leafFor({ key: k.privateKey, cert: leaf }, k2.publicKey, [ID]);
  const r2 = verifyChain(sub, [leaf, inter], [root.cert], NOW + 1000);
  expect(r2.ok).toBe(false);
  if (!r2.ok) expect(['not_ca', 'unknown_ca']).toContain(r2.reason);
});

test('a SAN with an embedded NUL never matches the exact identity', async () => {
  const root = await ca();
  const k = await generateKey();
  const evil = leafFor(root, k.publicKey, ['spiffe://cluster.local/ns/default/sa/victim\u0000evil']);
  expect(matchesUriSan(evil, ['spiffe://cluster.local/ns/default/sa/victim'])).toBe(false);
  expect(matchesUriSan(evil, ['spiffe://cluster.local/ns/default/sa/victim\u0000evil'])).toBe(false);
  expect(spiffeIdOf(evil)).toBeNull();
});

test('publicKeyOf matches the generated public key', async () => {
  const k = await generateKey();
  expect(publicKeyOf(k.privateKey).equals(k.publicKey)).toBe(true);
});
