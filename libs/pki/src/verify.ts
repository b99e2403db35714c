/**
 * Chain verification and identity matching, used by Citadel (plugged-in CA
 * checks), the proxy (its own certificate and peers') and tests. Failures are
 * values with a reason so callers can count them (`expired`, `not_yet_valid`,
 * `unknown_ca`, `bad_signature`, `not_ca`, `san_mismatch`).
 */
import type { X509Certificate } from 'node:crypto';
import { inspectCertificate } from './cert';
import { tryParseSpiffeId } from './spiffe';

export type VerifyFailure =
  'expired' | 'not_yet_valid' | 'unknown_ca' | 'bad_signature' | 'not_ca' | 'san_mismatch' | 'malformed';

export type VerifyResult =
  { ok: true; chain: X509Certificate[] } | { ok: false; reason: VerifyFailure; detail: string };

const MAX_DEPTH = 8;

/**
 * Verifies `leaf` up to one of `roots` through `intermediates`, at time `now`.
 * Each link must be signed by its issuer, issuers must be CAs, every certificate
 * must be within its validity window.
 */
export function verifyChain(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  now: number,
): VerifyResult {
  const chain: X509Certificate[] = [leaf];
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const window = validityFailure(current, now);
    if (window)
      return { ok: false, reason: window, detail: `${current.subject || '(leaf)'} ${window.replace(/_/g, ' ')}` };
    const root = roots.find((r) => r.raw.equals(current.raw));
    if (root && depth > 0) return { ok: true, chain };
    const issuer = [...roots, ...intermediates].find(
      (c) => c !== current && current.checkIssued(c) && !c.raw.equals(current.raw),
    );
    if (!issuer) {
      if (roots.some((r) => r.raw.equals(current.raw))) return { ok: true, chain };
      return { ok: false, reason: 'unknown_ca', detail: `no trusted issuer for "${current.issuer}"` };
    }
    if (!issuer.ca) return { ok: false, reason: 'not_ca', detail: `issuer "${issuer.subject}" is not a CA` };
    let signed = false;
    try {
      signed = current.verify(issuer.publicKey);
    } catch {
      signed = false;
    }
    if (!signed)
      return { ok: false, reason: 'bad_signature', detail: `signature by "${issuer.subject}" does not verify` };
    chain.push(issuer);
    if (roots.some((r) => r.raw.equals(issuer.raw))) {
      const w = validityFailure(issuer, now);
      if (w) return { ok: false, reason: w, detail: `root ${w.replace(/_/g, ' ')}` };
      return { ok: true, chain };
    }
    current = issuer;
  }
  return { ok: false, reason: 'unknown_ca', detail: 'chain too long' };
}

function validityFailure(cert: X509Certificate, now: number): VerifyFailure | null {
  if (now < Date.parse(cert.validFrom)) return 'not_yet_valid';
  if (now > Date.parse(cert.validTo)) return 'expired';
  return null;
}

/**
 * Secure naming: does the certificate carry one of `allowed` as an exact URI
 * SAN? Byte-exact comparison; a SAN with a NUL or any control character never
 * matches (so `victim\0evil` cannot pass for `victim`).
 */
export function matchesUriSan(cert: X509Certificate, allowed: readonly string[]): boolean {
  const { uris } = inspectCertificate(cert).sans;
  return uris.some((u) => !hasControlChar(u) && allowed.includes(u));
}

/** The SPIFFE ID of a workload certificate (first valid spiffe:// URI SAN), or null. */
export function spiffeIdOf(cert: X509Certificate): string | null {
  for (const u of inspectCertificate(cert).sans.uris) {
    if (!hasControlChar(u) && tryParseSpiffeId(u)) return u;
  }
  return null;
}

export function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
