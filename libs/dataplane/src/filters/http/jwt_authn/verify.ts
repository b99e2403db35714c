/**
 * Token checks with `jose`. `inspectJwt` is synchronous and cheap (size, compact
 * form, header and payload JSON via jose's decoders, supported `alg`), so a
 * request whose tokens fail it, or that carries none, never waits. `verifyJwt`
 * runs jose's `jwtVerify` against each candidate key with the algorithms of
 * that key's type, the provider's issuer and audiences, Envoy's clock skew and
 * the filter's clock. Failures are values carrying Envoy's status texts.
 */
import type { CryptoKey, JWTPayload, ProtectedHeaderParameters } from 'jose';
import { jose } from './jose';
import { SUPPORTED_ALGS, type VerificationKey } from './keys';

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

export const MAX_TOKEN_BYTES = 16 * 1024;
/** header.payload.signature, base64url without padding (the signature may be empty: `alg: none`). */
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface InspectedJwt {
  header: ProtectedHeaderParameters;
  /** Not yet verified: only for choosing a provider by `iss`. */
  payload: JWTPayload;
  alg: string;
}

/** Decodes without verifying; the first failure in Envoy's order. */
export function inspectJwt(token: string): InspectedJwt | JwtFailure {
  if (token.length > MAX_TOKEN_BYTES) return 'Jwt is too large';
  if (!COMPACT.test(token)) return 'Jwt is not in the form of Header.Payload.Signature';
  const { decodeJwt, decodeProtectedHeader } = jose();
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return 'Jwt header is an invalid JSON';
  }
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    return 'Jwt payload is an invalid JSON';
  }
  const alg = header.alg;
  if (typeof alg !== 'string' || !SUPPORTED_ALGS.includes(alg)) return 'Jwt header [alg] is not supported';
  return { header, payload, alg };
}

export interface VerifyOptions {
  /** Empty: any issuer. */
  issuer: string;
  /** Empty: no audience check; else `aud` must contain one of them. */
  audiences: readonly string[];
  /** Envoy's `clock_skew_seconds`, applied to `exp` and `nbf`. */
  skewSeconds: number;
  now: Date;
}

function failureOf(e: unknown): JwtFailure {
  const { errors } = jose();
  if (e instanceof errors.JWTExpired) return 'Jwt is expired';
  if (e instanceof errors.JWTClaimValidationFailed) {
    switch (e.claim) {
      case 'exp':
        return 'Jwt is expired';
      case 'nbf':
        return 'Jwt not yet valid';
      case 'aud':
        return 'Audiences in Jwt are not allowed';
      case 'iss':
        return 'Jwt issuer is not configured';
    }
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return 'Jwt header [alg] is not supported';
  return 'Jwt verification fails';
}

/**
 * Verifies signature and claims with jose, trying each candidate key in turn.
 * A key whose signature does not match, or that cannot be used (bad material,
 * RSA under 2048 bits), passes to the next; a claim failure under a matching
 * signature is final. Never rejects.
 */
export async function verifyJwt(
  token: string,
  alg: string,
  candidates: readonly VerificationKey[],
  o: VerifyOptions,
): Promise<{ payload: JWTPayload } | JwtFailure> {
  const { errors, jwtVerify } = jose();
  for (const k of candidates) {
    let key: CryptoKey;
    try {
      key = await k.importFor(alg);
    } catch {
      continue; // unusable key material: as if it did not match
    }
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [...k.algorithms],
        issuer: o.issuer || undefined,
        audience: o.audiences.length > 0 ? [...o.audiences] : undefined,
        clockTolerance: o.skewSeconds,
        currentDate: o.now,
      });
      return { payload };
    } catch (e) {
      // Another key's signature, or a key jose refuses for this use (a TypeError): try the next key.
      if (e instanceof errors.JWSSignatureVerificationFailed || !(e instanceof errors.JOSEError)) continue;
      return failureOf(e);
    }
  }
  return 'Jwt verification fails';
}
