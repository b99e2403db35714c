/**
 * Identity from Citadel: make a fresh key (EC P-256 by default), send a CSR for
 * our SPIFFE ID with the bearer token, check what comes back (leaf carries our
 * ID and our key, chain verifies to the root), install it, and renew at the
 * jittered half-life. When Citadel is unreachable the current certificate keeps
 * serving and renewal is retried with backoff until it succeeds.
 */
import { X509Certificate } from 'node:crypto';
import type { Clock, Logger, Random, TimerHandle } from '@tsmesh/core';
import {
  DEFAULT_ROTATION,
  buildCsr,
  generateKey,
  inspectCertificate,
  privateKeyToPem,
  renewAt,
  retryDelay,
  splitPemChain,
  verifyChain,
  type KeyAlgorithm,
  type RotationPolicy,
} from '@tsmesh/pki';
import { BaseIdentityProvider } from './base-provider';
import type { IdentityMaterial } from './types';

/** What the provider needs of a CA (`CaClient` from @tsmesh/pki satisfies it). */
export interface CertificateSigner {
  createCertificate(csrPem: string, validitySeconds?: number): Promise<string[]>;
}

export interface CitadelIdentityOptions {
  spiffeId: string;
  ca: CertificateSigner;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Trusted root (e.g. from Citadel's /root-cert.pem); when absent the chain's last certificate is trusted on first use. */
  rootCertPem?: string;
  keyAlgorithm?: KeyAlgorithm;
  /** Requested lifetime in seconds (0 = Citadel's default). */
  ttlSeconds?: number;
  rotation?: RotationPolicy;
}

export class CitadelIdentityProvider extends BaseIdentityProvider {
  private timer: TimerHandle | null = null;
  private attempt = 0;
  private stopped = false;
  private inFlight: Promise<void> | null = null;
  /** Failures by reason (for stats/logs): unreachable, refused, bad_response. */
  readonly failures: Record<string, number> = {};

  constructor(private readonly o: CitadelIdentityOptions) {
    super();
  }

  /** Starts fetching; resolve `ready()` to wait for the first certificate. */
  start(): this {
    void this.renew();
    return this;
  }

  /** One renewal attempt now (also used by tests); concurrent calls share it. */
  renew(): Promise<void> {
    this.inFlight ??= this.attemptRenewal().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private async attemptRenewal(): Promise<void> {
    if (this.stopped) return;
    this.timer?.cancel();
    try {
      const m = await this.issue();
      this.attempt = 0;
      this.install(m);
      // Citadel backdates notBefore (clock skew); the lifetime we can use starts when the
      // certificate arrived. Counting from notBefore would put the half-life of a short-lived
      // certificate (a TTL of seconds) in the past and renew in a tight loop.
      const usableFrom = Math.max(m.notBefore, Math.min(this.o.clock.now(), m.notAfter));
      const at = renewAt(usableFrom, m.notAfter, this.o.random, this.o.rotation ?? DEFAULT_ROTATION);
      this.schedule(Math.max(0, at - this.o.clock.now()));
      this.o.logger.info(
        { spiffeId: m.spiffeId, notAfter: new Date(m.notAfter).toISOString() },
        'workload certificate installed',
      );
    } catch (e) {
      const reason =
        (e as { reason?: string }).reason ??
        ((e as { code?: number }).code === 14 || (e as { code?: number }).code === 4 ? 'unreachable' : 'refused');
      this.failures[reason] = (this.failures[reason] ?? 0) + 1;
      this.countFailure();
      const delay = retryDelay(
        this.attempt++,
        this.o.clock.now(),
        this.material?.notAfter ?? Infinity,
        this.o.random,
        this.o.rotation ?? DEFAULT_ROTATION,
      );
      this.o.logger.warn(
        { reason, err: (e as Error).message, retryInMs: Math.round(delay), haveCert: !!this.material },
        'certificate request failed',
      );
      this.schedule(delay);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => void this.renew(), ms);
  }

  private async issue(): Promise<IdentityMaterial> {
    const { privateKey, publicKey } = await generateKey(this.o.keyAlgorithm ?? 'ec-p256');
    const csr = buildCsr(privateKey, { uris: [this.o.spiffeId] });
    const chainPems = await this.o.ca.createCertificate(csr, this.o.ttlSeconds ?? 0);
    const bad = (why: string) =>
      Object.assign(new Error(`Citadel response rejected: ${why}`), { reason: 'bad_response' });
    const certs = splitPemChain(chainPems.join('\n'));
    if (certs.length < 1) throw bad('empty chain');
    const leaf = certs[0];
    if (!leaf.publicKey.equals(publicKey)) throw bad('certificate is not for our key');
    const info = inspectCertificate(leaf);
    if (info.sans.uris.length !== 1 || info.sans.uris[0] !== this.o.spiffeId)
      throw bad(`certificate identity ${JSON.stringify(info.sans.uris)} is not ${this.o.spiffeId}`);
    const rootPem = this.o.rootCertPem ?? (certs.length > 1 ? certs[certs.length - 1].toString() : undefined);
    if (!rootPem) throw bad('no root certificate');
    const roots = splitPemChain(rootPem);
    const intermediates = certs.slice(1).filter((c) => !roots.some((r) => r.raw.equals(c.raw)));
    const verdict = verifyChain(leaf, intermediates, roots, this.o.clock.now());
    if (!verdict.ok) throw bad(`chain does not verify (${verdict.reason})`);
    return {
      spiffeId: this.o.spiffeId,
      privateKey,
      privateKeyPem: privateKeyToPem(privateKey),
      certChainPem: [leaf, ...intermediates].map((c: X509Certificate) => c.toString()).join(''),
      rootCertPem: roots.map((r) => r.toString()).join(''),
      notBefore: info.notBefore,
      notAfter: info.notAfter,
      key: privateKey,
      chain: [leaf, ...intermediates].map((c) => c.toString()),
      root: roots.map((r) => r.toString()).join(''),
    };
  }
}
