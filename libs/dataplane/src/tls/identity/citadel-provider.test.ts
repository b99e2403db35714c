import { X509Certificate, type KeyObject } from 'node:crypto';
import { FakeClock, SequenceRandom, silentLogger } from '@tsmesh/core';
import { generateKey, issueCertificate, parseCsr, selfSignedRoot } from '@tsmesh/pki';
import { StatsStore } from '../../stats/store';
import { CitadelIdentityProvider, type CertificateSigner } from './citadel-provider';

const settle = () => new Promise<void>((r) => setImmediate(r));
const ID = 'spiffe://cluster.local/ns/default/sa/productpage';
const H = 3_600_000;

/** An in-process CA standing in for Citadel; `down` makes it fail like an unreachable server. */
async function fakeCa(clock: FakeClock) {
  const k = await generateKey();
  let root = {
    key: k.privateKey as KeyObject,
    pem: selfSignedRoot(k.privateKey, 'cluster.local', 3650 * 24 * H, clock.now()),
  };
  const state = { down: false, calls: 0, sanOverride: undefined as string | undefined };
  const ca: CertificateSigner = {
    async createCertificate(csr, ttl) {
      state.calls++;
      if (state.down) throw Object.assign(new Error('14 UNAVAILABLE: connect ECONNREFUSED'), { code: 14 });
      const parsed = parseCsr(csr);
      const leaf = issueCertificate({
        subjectKey: parsed.publicKey,
        sans: { uris: [state.sanOverride ?? parsed.sans.uris[0]] },
        ttlMs: (ttl || 24 * 3600) * 1000,
        now: clock.now(),
        issuer: new X509Certificate(root.pem),
        signingKey: root.key,
      });
      return [leaf, root.pem];
    },
  };
  return {
    ca,
    state,
    async rotateRoot() {
      const nk = await generateKey();
      root = { key: nk.privateKey, pem: selfSignedRoot(nk.privateKey, 'cluster.local', 3650 * 24 * H, clock.now()) };
    },
  };
}

function provider(
  clock: FakeClock,
  ca: CertificateSigner,
  extra: Partial<ConstructorParameters<typeof CitadelIdentityProvider>[0]> = {},
) {
  return new CitadelIdentityProvider({
    spiffeId: ID,
    ca,
    clock,
    random: new SequenceRandom([0]),
    logger: silentLogger(),
    ...extra,
  });
}

test('first certificate: ready resolves, SDS names resolve, key stays a KeyObject', async () => {
  const clock = new FakeClock(Date.now());
  const { ca } = await fakeCa(clock);
  const p = provider(clock, ca).start();
  await p.ready();
  const m = p.current()!;
  expect(m.spiffeId).toBe(ID);
  expect(m.key).toBe(m.privateKey);
  expect(m.chain).toHaveLength(1);
  expect(m.root).toBe(m.rootCertPem);
  expect(new X509Certificate(m.certChainPem).checkPrivateKey(m.privateKey)).toBe(true);
  expect(p.getTlsCertificate('default')?.certChain).toBe(m.certChainPem);
  expect(p.getValidationContext('ROOTCA')?.trustedCa).toBe(m.rootCertPem);
  expect(p.getTlsCertificate('other')).toBeUndefined();
  p.stop();
});

test('rotates at half-life with a new key and notifies listeners', async () => {
  const clock = new FakeClock(Date.now());
  const { ca, state } = await fakeCa(clock);
  const p = provider(clock, ca).start();
  await p.ready();
  await settle();
  const first = p.current()!;
  const rotated: string[] = [];
  p.onRotate((m) => rotated.push(m.certChainPem));
  clock.advance(11 * H);
  expect(state.calls).toBe(1);
  clock.advance(1 * H + 61_000);
  await p.renew();
  expect(state.calls).toBe(2);
  expect(rotated).toHaveLength(1);
  expect(p.current()!.privateKeyPem).not.toBe(first.privateKeyPem);
  p.stop();
});

test('a certificate of a few seconds (notBefore backdated by the CA) renews at its usable half-life, not in a loop', async () => {
  // Real time for key generation and signing to finish between steps.
  const drain = () => new Promise<void>((r) => setTimeout(r, 50));
  const clock = new FakeClock(Date.now());
  const { ca, state } = await fakeCa(clock);
  const p = provider(clock, ca, { ttlSeconds: 4 }).start();
  await p.ready();
  await drain();
  // notBefore is a minute in the past; half of notBefore→notAfter is already over.
  const m = p.current()!;
  expect(m.notBefore).toBeLessThan(clock.now() - 30_000);
  // Renewal is due at half of the time left from arrival (seconds-granular notAfter; no jitter here).
  const half = (m.notAfter - clock.now()) / 2;
  expect(half).toBeGreaterThan(1000);
  await drain();
  expect(state.calls).toBe(1);
  clock.advance(half - 100);
  await drain();
  expect(state.calls).toBe(1);
  clock.advance(200);
  await p.renew();
  expect(state.calls).toBe(2);
  p.stop();
});

test('Citadel down: the current certificate keeps serving, retries back off, rotation resumes on recovery', async () => {
  const clock = new FakeClock(Date.now());
  const fake = await fakeCa(clock);
  const stats = new StatsStore();
  const p = provider(clock, fake.ca).attachStats(stats).start();
  await p.ready();
  await settle();
  const first = p.current()!;
  expect(stats.value('identity.cert_expiry_timestamp_seconds')).toBe(Math.floor(first.notAfter / 1000));
  fake.state.down = true;
  clock.advance(12 * H + 61_000);
  await p.renew();
  expect(p.failures['unreachable']).toBeGreaterThanOrEqual(1);
  expect(stats.value('identity.cert_fetch_failures')).toBeGreaterThanOrEqual(1);
  expect(p.current()).toBe(first);
  expect(p.getTlsCertificate('default')?.certChain).toBe(first.certChainPem);
  fake.state.down = false;
  await clock.advanceAsync(120_000, 1000);
  await p.renew();
  expect(p.current()).not.toBe(first);
  p.stop();
});

test('not ready while Citadel is unreachable at start; ready once it answers', async () => {
  const clock = new FakeClock(Date.now());
  const fake = await fakeCa(clock);
  fake.state.down = true;
  const p = provider(clock, fake.ca).start();
  let ready = false;
  void p.ready().then(() => (ready = true));
  await p.renew();
  expect(ready).toBe(false);
  expect(p.getTlsCertificate('default')).toBeUndefined();
  fake.state.down = false;
  await p.renew();
  await p.ready();
  expect(ready).toBe(true);
  p.stop();
});

test('a response for another identity or from an untrusted root is refused', async () => {
  const clock = new FakeClock(Date.now());
  const fake = await fakeCa(clock);
  fake.state.sanOverride = 'spiffe://cluster.local/ns/default/sa/reviews';
  const p = provider(clock, fake.ca).start();
  await p.renew();
  expect(p.current()).toBeUndefined();
  expect(p.failures['bad_response']).toBeGreaterThanOrEqual(1);
  p.stop();
  fake.state.sanOverride = undefined;
  const other = await generateKey();
  const pinned = provider(clock, fake.ca, {
    rootCertPem: selfSignedRoot(other.privateKey, 'cluster.local', 24 * H, clock.now()),
  }).start();
  await pinned.renew();
  expect(pinned.current()).toBeUndefined();
  pinned.stop();
});
