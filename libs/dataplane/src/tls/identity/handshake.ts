/**
 * Peer verification after a TLS handshake, with a reason for every refusal so
 * failures can be counted (Envoy: `ssl.fail_verify_no_cert`,
 * `ssl.fail_verify_error`, `ssl.fail_verify_san`; here also one counter per
 * verification error: expired, not yet valid, unknown CA). Meant for servers
 * created with `requestCert: true, rejectUnauthorized: false`: Node then
 * completes the handshake and reports OpenSSL's verdict in
 * `authorizationError`, and the caller destroys the socket before reading any
 * application byte. The SPIFFE ID is read from the DER SAN (pki), so a SAN with
 * an embedded NUL or control character is never an identity.
 */
import type tls from 'node:tls';
import { inspectCertificate, hasControlChar } from '@tsmesh/pki';
import type { Counter, StatsStore } from '../../stats/store';

export type HandshakeFailure =
  'no_certificate' | 'expired' | 'not_yet_valid' | 'unknown_ca' | 'bad_certificate' | 'san_mismatch';

export type PeerCheck = { ok: true; peerIdentity?: string } | { ok: false; reason: HandshakeFailure; detail: string };

/** OpenSSL verify error code (Node's `authorizationError`) → reason. */
export function classifyVerifyError(code: string): HandshakeFailure {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
    case 'CRL_HAS_EXPIRED':
      return 'expired';
    case 'CERT_NOT_YET_VALID':
    case 'CRL_NOT_YET_VALID':
      return 'not_yet_valid';
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'CERT_UNTRUSTED':
      return 'unknown_ca';
    default:
      return 'bad_certificate';
  }
}

/**
 * Decides on the peer of a finished handshake: certificate present when
 * required, chain verified by OpenSSL, and (when `allowedSans` is non-empty)
 * one exact, control-character-free URI SAN among them.
 */
export function checkPeer(
  ts: tls.TLSSocket,
  requireClientCert: boolean,
  sanMatchers: ReadonlyArray<(s: string) => boolean> = [],
): PeerCheck {
  const x509 = ts.getPeerX509Certificate();
  if (!x509) {
    return requireClientCert
      ? { ok: false, reason: 'no_certificate', detail: 'peer presented no certificate' }
      : { ok: true };
  }
  const err = ts.authorizationError as unknown as string | Error | null;
  if (err) {
    const code = typeof err === 'string' ? err : ((err as NodeJS.ErrnoException).code ?? err.message);
    return { ok: false, reason: classifyVerifyError(code), detail: code };
  }
  const uris = inspectCertificate(x509).sans.uris.filter((u) => !hasControlChar(u));
  if (sanMatchers.length > 0 && !uris.some((u) => sanMatchers.some((m) => m(u)))) {
    return { ok: false, reason: 'san_mismatch', detail: `peer SANs [${uris.join(', ')}] not allowed` };
  }
  return { ok: true, peerIdentity: uris[0] };
}

/** Envoy-named SSL failure counters under `<prefix>ssl.` plus one per reason. */
export class HandshakeStats {
  private readonly byReason = new Map<HandshakeFailure, Counter>();
  readonly connectionError: Counter;
  readonly handshake: Counter;
  private readonly noCert: Counter;
  private readonly verifyError: Counter;
  private readonly san: Counter;

  constructor(
    private readonly store: StatsStore,
    private readonly prefix: string,
  ) {
    this.connectionError = store.counter(`${prefix}ssl.connection_error`);
    this.handshake = store.counter(`${prefix}ssl.handshake`);
    this.noCert = store.counter(`${prefix}ssl.fail_verify_no_cert`);
    this.verifyError = store.counter(`${prefix}ssl.fail_verify_error`);
    this.san = store.counter(`${prefix}ssl.fail_verify_san`);
  }

  record(check: PeerCheck): void {
    if (check.ok) {
      this.handshake.inc();
      return;
    }
    if (check.reason === 'no_certificate') this.noCert.inc();
    else if (check.reason === 'san_mismatch') this.san.inc();
    else this.verifyError.inc();
    let c = this.byReason.get(check.reason);
    if (!c) this.byReason.set(check.reason, (c = this.store.counter(`${this.prefix}ssl.fail_verify_${check.reason}`)));
    c.inc();
  }
}
