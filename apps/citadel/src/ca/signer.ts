/**
 * Signs workload CSRs for exactly the identity the caller proved: the CSR's URI
 * SANs must be that one SPIFFE ID (or absent, then it is added); DNS/IP SANs are
 * refused. TTL: the CA default when the request names none, refused above the
 * maximum (as Istio's CA), and never past the signing certificate's own expiry.
 */
import type { Clock } from '@tsmesh/core';
import { certToPem, formatSpiffeId, issueCertificate, parseCsr, type SpiffeId } from '@tsmesh/pki';
import { citadelErrors } from '../errors';
import type { CaBundle } from './ca-store';

export interface SignerOptions {
  defaultTtlMs: number;
  maxTtlMs: number;
  clock: Clock;
}

export interface SignResult {
  /** Leaf first, then intermediates, root last (IstioCertificateResponse.cert_chain). */
  chain: string[];
  notAfter: number;
}

export class WorkloadSigner {
  private readonly tail: string[];

  constructor(
    readonly ca: CaBundle,
    private readonly o: SignerOptions,
  ) {
    const signing = ca.signingCert.raw.equals(ca.root.raw) ? [] : [certToPem(ca.signingCert)];
    this.tail = [...signing, ...ca.intermediates.map(certToPem), ca.rootPem];
  }

  /** Throws citadel errors (codes carry the gRPC status) for refused requests. */
  sign(csrPem: string, proved: SpiffeId, requestedTtlSeconds: number): SignResult {
    let csr;
    try {
      csr = parseCsr(csrPem);
    } catch (e) {
      throw citadelErrors.error('CITADEL_ERR_BAD_REQUEST', { why: (e as Error).message });
    }
    const want = formatSpiffeId(proved);
    const { uris, dns, ips } = csr.sans;
    if (dns.length > 0 || ips.length > 0) {
      throw citadelErrors.error('CITADEL_ERR_IDENTITY_MISMATCH', {
        requested: [...dns, ...ips].join(', '),
        proved: want,
      });
    }
    if (uris.length > 1 || (uris.length === 1 && uris[0] !== want)) {
      throw citadelErrors.error('CITADEL_ERR_IDENTITY_MISMATCH', {
        requested: JSON.stringify(uris).slice(1, -1),
        proved: want,
      });
    }
    if (!Number.isFinite(requestedTtlSeconds) || requestedTtlSeconds < 0) {
      throw citadelErrors.error('CITADEL_ERR_BAD_REQUEST', { why: 'validity_duration must not be negative' });
    }
    const ttl = requestedTtlSeconds > 0 ? requestedTtlSeconds * 1000 : this.o.defaultTtlMs;
    if (ttl > this.o.maxTtlMs) {
      throw citadelErrors.error('CITADEL_ERR_BAD_REQUEST', {
        why: `requested validity ${requestedTtlSeconds}s exceeds the maximum ${this.o.maxTtlMs / 1000}s`,
      });
    }
    const now = this.o.clock.now();
    const caEnd = Date.parse(this.ca.signingCert.validTo);
    const ttlMs = Math.max(0, Math.min(ttl, caEnd - now));
    const leaf = issueCertificate({
      subjectKey: csr.publicKey,
      subjectSpki: csr.spki,
      sans: { uris: [want] },
      ttlMs,
      now,
      issuer: this.ca.signingCert,
      signingKey: this.ca.signingKey,
    });
    return { chain: [leaf, ...this.tail], notAfter: Math.floor((now + ttlMs) / 1000) * 1000 };
  }
}
