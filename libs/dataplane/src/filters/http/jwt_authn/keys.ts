/**
 * A provider's `local_jwks`, compiled once per config: each usable public key
 * with the JWS algorithms its key type may verify, imported into a CryptoKey by
 * `jose` the first time an algorithm is needed (then cached on the config).
 * Key selection follows Envoy's jwt_verify_lib: a key with a `kid` is skipped
 * when the token names another `kid`; a key without one is tried; a key's `alg`,
 * when given, must equal the token's. Only asymmetric algorithms exist here, so
 * `none` and HS* never find a key.
 */
import { createPublicKey } from 'node:crypto';
import type { CryptoKey, JWK } from 'jose';
import { jose } from './jose';

const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const EC_ALG_BY_CURVE: Readonly<Record<string, string>> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };

/** Every JWS algorithm the filter verifies (Envoy's jwt_verify_lib set). */
export const SUPPORTED_ALGS: readonly string[] = [...RSA_ALGS, ...Object.values(EC_ALG_BY_CURVE), 'EdDSA'];

export class VerificationKey {
  private readonly imported = new Map<string, Promise<CryptoKey>>();

  constructor(
    /** Public members only (`kty`, `n`/`e` or `crv`/`x`/`y`). */
    private readonly jwk: JWK,
    /** What this key's type can verify: RSA → RS*, PS*; EC → the ES* of its curve; Ed25519 → EdDSA. */
    readonly algorithms: readonly string[],
    readonly kid?: string,
    readonly alg?: string,
  ) {}

  /** The key as jose's CryptoKey for `alg`; imported once per algorithm. */
  importFor(alg: string): Promise<CryptoKey> {
    let key = this.imported.get(alg);
    if (!key) {
      key = jose().importJWK({ ...this.jwk }, alg) as Promise<CryptoKey>;
      this.imported.set(alg, key);
    }
    return key;
  }
}

/** Keys that may have signed a token with this `alg` and `kid`, in JWKS order. */
export function selectKeys(keys: readonly VerificationKey[], alg: string, kid?: string): VerificationKey[] {
  return keys.filter(
    (k) =>
      k.algorithms.includes(alg) &&
      (k.alg === undefined || k.alg === alg) &&
      (kid === undefined || k.kid === undefined || k.kid === kid),
  );
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The public members of a JWK and the algorithms they serve; null for a key
 * this filter cannot use (other key type or curve: skipped, as Envoy does);
 * a string for a malformed key.
 */
function publicKeyOf(k: Record<string, unknown>): { jwk: JWK; algorithms: string[] } | null | string {
  const member = (name: string): string | undefined => {
    const v = k[name];
    return typeof v === 'string' && B64URL.test(v) ? v : undefined;
  };
  const missing = (names: string[]) => `"${names.join('", "')}" must be base64url strings`;
  switch (k['kty']) {
    case 'RSA': {
      const n = member('n');
      const e = member('e');
      return n && e ? { jwk: { kty: 'RSA', n, e }, algorithms: RSA_ALGS } : missing(['n', 'e']);
    }
    case 'EC': {
      const crv = typeof k['crv'] === 'string' ? k['crv'] : '';
      const alg = EC_ALG_BY_CURVE[crv];
      if (!alg) return null;
      const x = member('x');
      const y = member('y');
      return x && y ? { jwk: { kty: 'EC', crv, x, y }, algorithms: [alg] } : missing(['x', 'y']);
    }
    case 'OKP': {
      if (k['crv'] !== 'Ed25519') return null;
      const x = member('x');
      return x ? { jwk: { kty: 'OKP', crv: 'Ed25519', x }, algorithms: ['EdDSA'] } : missing(['x']);
    }
    default:
      return null;
  }
}

/**
 * Compiles a JWKS document (`{"keys": [...]}`) or a single PEM public key (both
 * accepted by Envoy's `local_jwks`). Keys of other types, curves or `use` are
 * skipped; malformed documents and keys are listed in `errors`.
 */
export function compileJwks(text: string, errors: string[] = []): VerificationKey[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    let jwk: Record<string, unknown>;
    try {
      jwk = createPublicKey(trimmed).export({ format: 'jwk' }) as Record<string, unknown>;
    } catch (e) {
      errors.push(`PEM key: ${(e as Error).message}`);
      return [];
    }
    const key = publicKeyOf(jwk);
    if (key === null || typeof key === 'string') {
      errors.push('PEM key: not an RSA, P-256/384/521 or Ed25519 public key');
      return [];
    }
    return [new VerificationKey(key.jwk, key.algorithms)];
  }
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch {
    errors.push('JWKS is not valid JSON');
    return [];
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) {
    errors.push('JWKS has no "keys" array');
    return [];
  }
  const out: VerificationKey[] = [];
  keys.forEach((k: unknown, i) => {
    if (!k || typeof k !== 'object' || Array.isArray(k)) return;
    const jwk = k as Record<string, unknown>;
    if (jwk['use'] !== undefined && jwk['use'] !== 'sig') return;
    const key = publicKeyOf(jwk);
    if (key === null) return;
    if (typeof key === 'string') {
      errors.push(`keys[${i}]: ${key}`);
      return;
    }
    const str = (name: string) => (typeof jwk[name] === 'string' ? (jwk[name] as string) : undefined);
    out.push(new VerificationKey(key.jwk, key.algorithms, str('kid'), str('alg')));
  });
  return out;
}
