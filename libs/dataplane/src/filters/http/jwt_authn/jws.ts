/**
 * JWS compact-form verification (RFC 7515/7518/7519) with Node's crypto against
 * a local JWKS. Written here instead of with `jose` because jose 6 is ESM-only
 * and the workspace's Jest runs CommonJS. Only asymmetric algorithms are
 * accepted (`none` and HS* never: an HS256 token "signed" with a public key is
 * refused — Envoy's JwtHeaderNotImplementedAlg). Failures are values with
 * Envoy's status texts, never exceptions.
 */
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';

export type JwtFailure =
  | 'Jwt is missing'
  | 'Jwt is not in the form of Header.Payload.Signature'
  | 'Jwt header is an invalid JSON'
  | 'Jwt payload is an invalid JSON'
  | 'Jwt header [alg] is not supported'
  | 'Jwt issuer is not configured'
  | 'Jwt is expired'
  | 'Jwt not yet valid'
  | 'Audiences in Jwt are not allowed'
  | "Jwks doesn't have key to match kid or alg from Jwt"
  | 'Jwt verification fails'
  | 'Jwt is too large';

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: Buffer;
  signature: Buffer;
}

interface AlgSpec {
  hash: string | null;
  kty: 'RSA' | 'EC' | 'OKP';
  crv?: string;
  pss?: boolean;
}

const ALGS: Record<string, AlgSpec> = {
  RS256: { hash: 'sha256', kty: 'RSA' },
  RS384: { hash: 'sha384', kty: 'RSA' },
  RS512: { hash: 'sha512', kty: 'RSA' },
  PS256: { hash: 'sha256', kty: 'RSA', pss: true },
  PS384: { hash: 'sha384', kty: 'RSA', pss: true },
  PS512: { hash: 'sha512', kty: 'RSA', pss: true },
  ES256: { hash: 'sha256', kty: 'EC', crv: 'P-256' },
  ES384: { hash: 'sha384', kty: 'EC', crv: 'P-384' },
  ES512: { hash: 'sha512', kty: 'EC', crv: 'P-521' },
  EdDSA: { hash: null, kty: 'OKP' },
};

export const SUPPORTED_ALGS = Object.keys(ALGS);
export const MAX_TOKEN_BYTES = 16 * 1024;
const B64URL = /^[A-Za-z0-9_-]*$/;

export interface Jwk {
  kid?: string;
  kty: string;
  alg?: string;
  crv?: string;
  use?: string;
  key: KeyObject;
}

/** Parses a JWKS document (`{"keys": [...]}`, or a single PEM public key); unusable keys are dropped, errors listed. */
export function parseJwks(text: string, errors: string[] = []): Jwk[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    try {
      const key = createPublicKey(trimmed);
      const kty = key.asymmetricKeyType === 'rsa' ? 'RSA' : key.asymmetricKeyType === 'ec' ? 'EC' : 'OKP';
      return [{ kty, key }];
    } catch (e) {
      errors.push(`PEM key: ${(e as Error).message}`);
      return [];
    }
  }
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch {
    errors.push('JWKS is not valid JSON');
    return [];
  }
  const keys = (doc as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) {
    errors.push('JWKS has no "keys" array');
    return [];
  }
  const out: Jwk[] = [];
  keys.forEach((k: Record<string, unknown>, i) => {
    if (!k || typeof k !== 'object' || !['RSA', 'EC', 'OKP'].includes(String(k['kty']))) return;
    if (k['use'] !== undefined && k['use'] !== 'sig') return;
    try {
      const key = createPublicKey({ key: k as never, format: 'jwk' });
      out.push({
        kid: k['kid'] as string | undefined,
        kty: String(k['kty']),
        alg: k['alg'] as string | undefined,
        crv: k['crv'] as string | undefined,
        key,
      });
    } catch (e) {
      errors.push(`keys[${i}]: ${(e as Error).message}`);
    }
  });
  return out;
}

function b64json(part: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** Splits and decodes without verifying. */
export function decodeJwt(token: string): DecodedJwt | JwtFailure {
  if (token.length > MAX_TOKEN_BYTES) return 'Jwt is too large';
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p)) || !parts[0] || !parts[1]) {
    return 'Jwt is not in the form of Header.Payload.Signature';
  }
  const header = b64json(parts[0]);
  if (!header) return 'Jwt header is an invalid JSON';
  const payload = b64json(parts[1]);
  if (!payload) return 'Jwt payload is an invalid JSON';
  return {
    header,
    payload,
    signingInput: Buffer.from(`${parts[0]}.${parts[1]}`, 'latin1'),
    signature: Buffer.from(parts[2], 'base64url'),
  };
}

/** Checks the signature against the JWKS (by kid when given, else every compatible key). */
export function verifySignature(jwt: DecodedJwt, keys: readonly Jwk[]): true | JwtFailure {
  const alg = jwt.header['alg'];
  const spec = typeof alg === 'string' ? ALGS[alg] : undefined;
  if (!spec || typeof alg !== 'string') return 'Jwt header [alg] is not supported';
  const kid = typeof jwt.header['kid'] === 'string' ? jwt.header['kid'] : undefined;
  const candidates = keys.filter(
    (k) =>
      k.kty === spec.kty &&
      (k.alg === undefined || k.alg === alg) &&
      (spec.crv === undefined || k.crv === undefined || k.crv === spec.crv) &&
      (kid === undefined || k.kid === undefined || k.kid === kid),
  );
  if (candidates.length === 0) return "Jwks doesn't have key to match kid or alg from Jwt";
  for (const k of candidates) {
    try {
      const ok = spec.pss
        ? verify(
            spec.hash,
            jwt.signingInput,
            { key: k.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
            jwt.signature,
          )
        : spec.kty === 'EC'
          ? verify(spec.hash, jwt.signingInput, { key: k.key, dsaEncoding: 'ieee-p1363' }, jwt.signature)
          : verify(spec.hash, jwt.signingInput, k.key, jwt.signature);
      if (ok) return true;
    } catch {
      // A key of the wrong size or curve simply does not verify.
    }
  }
  return 'Jwt verification fails';
}

/** `exp`/`nbf` with a clock-skew allowance (Envoy's `clock_skew_seconds`, default 60). */
export function checkTimes(payload: Record<string, unknown>, nowMs: number, skewSeconds: number): true | JwtFailure {
  const now = nowMs / 1000;
  const exp = payload['exp'];
  const nbf = payload['nbf'];
  if (exp !== undefined && (typeof exp !== 'number' || now > exp + skewSeconds)) return 'Jwt is expired';
  if (nbf !== undefined && (typeof nbf !== 'number' || now < nbf - skewSeconds)) return 'Jwt not yet valid';
  return true;
}

/** The `aud` claim as a list. */
export function audiencesOf(payload: Record<string, unknown>): string[] {
  const aud = payload['aud'];
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string');
  return [];
}
