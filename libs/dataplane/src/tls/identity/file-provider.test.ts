import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, silentLogger } from '@tsmesh/core';
import { generateKey, issueCertificate, privateKeyToPem, selfSignedRoot } from '@tsmesh/pki';
import { FileIdentityProvider } from './file-provider';

test('reads the /etc/certs triple, picks up a rewritten secret, ignores a mismatched pair', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certs-'));
  const clock = new FakeClock(Date.now());
  try {
    const rootKey = await generateKey();
    const rootPem = selfSignedRoot(rootKey.privateKey, 'cluster.local', 86_400_000, clock.now());
    const write = async () => {
      const k = await generateKey();
      const leaf = issueCertificate({
        subjectKey: k.publicKey,
        sans: { uris: ['spiffe://cluster.local/ns/default/sa/x'] },
        ttlMs: 3_600_000,
        now: clock.now(),
        issuer: new X509Certificate(rootPem),
        signingKey: rootKey.privateKey,
      });
      writeFileSync(join(dir, 'cert-chain.pem'), leaf);
      writeFileSync(join(dir, 'key.pem'), privateKeyToPem(k.privateKey), { mode: 0o600 });
      writeFileSync(join(dir, 'root-cert.pem'), rootPem);
      return leaf;
    };
    const p = new FileIdentityProvider({ dir, clock, logger: silentLogger() });
    expect(await p.poll()).toBe(false);
    const leaf1 = await write();
    expect(await p.poll()).toBe(true);
    await p.ready();
    expect(p.current()?.spiffeId).toBe('spiffe://cluster.local/ns/default/sa/x');
    expect(p.getTlsCertificate('default')?.certChain).toBe(leaf1);
    expect(await p.poll()).toBe(false);
    await write();
    expect(await p.poll()).toBe(true);
    const other = await generateKey();
    writeFileSync(join(dir, 'key.pem'), privateKeyToPem(other.privateKey));
    expect(await p.poll()).toBe(false);
    expect(p.current()?.certChainPem).not.toBe(leaf1);
    p.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
