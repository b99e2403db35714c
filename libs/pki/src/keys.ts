/**
 * Key pairs with Node's native crypto (EC P-256 by default, as Istio's later
 * agents; RSA 2048 as Istio 1.0). Private keys stay KeyObjects in memory;
 * PEM export is explicit so callers decide where a key may go.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { nul, oid, seq } from './asn1';
import { pkiErrors } from './errors';

export type KeyAlgorithm = 'ec-p256' | 'rsa-2048';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const generate = promisify(generateKeyPair);

export async function generateKey(alg: KeyAlgorithm = 'ec-p256'): Promise<KeyPair> {
  if (alg === 'rsa-2048') return generate('rsa', { modulusLength: 2048 });
  return generate('ec', { namedCurve: 'P-256' });
}

export const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  rsaPss: '1.2.840.113549.1.1.10',
} as const;

/** The AlgorithmIdentifier this key signs with (SHA-256 always). */
export function signatureAlgorithm(key: KeyObject): Buffer {
  if (key.asymmetricKeyType === 'ec') return seq(oid(OID.ecdsaWithSha256));
  if (key.asymmetricKeyType === 'rsa') return seq(oid(OID.sha256WithRsa), nul());
  throw pkiErrors.error('PKI_ERR_BAD_KEY', { why: `unsupported key type ${key.asymmetricKeyType}` });
}

/** Signs `data` as X.509 does (DER-encoded ECDSA, PKCS#1 v1.5 RSA). */
export function signData(key: KeyObject, data: Buffer): Buffer {
  return sign('sha256', data, key);
}

/** Verifies a signature given the AlgorithmIdentifier's OID. */
export function verifyData(algOid: string, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const hash =
    algOid === OID.ecdsaWithSha256 || algOid === OID.sha256WithRsa
      ? 'sha256'
      : algOid === OID.ecdsaWithSha384 || algOid === OID.sha384WithRsa
        ? 'sha384'
        : null;
  if (!hash) return false;
  const isEc = algOid.startsWith('1.2.840.10045');
  if (isEc !== (key.asymmetricKeyType === 'ec')) return false;
  try {
    return verify(hash, data, key, signature);
  } catch {
    return false;
  }
}

/** Only EC P-256/P-384 and RSA ≥ 2048 are acceptable for mesh identities. */
export function checkKeyStrength(key: KeyObject): string | null {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    return d.namedCurve === 'prime256v1' || d.namedCurve === 'secp384r1'
      ? null
      : `EC curve ${d.namedCurve} not allowed`;
  }
  if (key.asymmetricKeyType === 'rsa') return (d.modulusLength ?? 0) >= 2048 ? null : 'RSA key shorter than 2048 bits';
  return `key type ${key.asymmetricKeyType} not allowed`;
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function publicKeyToPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

export function loadPrivateKey(pem: string | Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (e) {
    throw pkiErrors.error('PKI_ERR_BAD_KEY', { why: (e as Error).message });
  }
}

export function publicKeyOf(privateKey: KeyObject): KeyObject {
  return createPublicKey(privateKey);
}
