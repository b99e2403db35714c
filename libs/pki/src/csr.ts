/**
 * PKCS#10 certificate signing requests (RFC 2986): the proxy builds one for its
 * SPIFFE ID with its own key; Citadel parses it, checks the self-signature and
 * reads the requested SANs from the extensionRequest attribute.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  Asn1Error,
  Tag,
  bits,
  children,
  ctx,
  expectTag,
  fromPem,
  oid,
  readAll,
  readBits,
  readOid,
  seq,
  set,
  toPem,
} from './asn1';
import { EXT, decodeSans, encodeName, encodeSans, extension, readExtensions, type SubjectAltNames } from './extensions';
import { pkiErrors } from './errors';
import { checkKeyStrength, publicKeyOf, signData, signatureAlgorithm, verifyData } from './keys';

export interface CsrOptions extends Partial<SubjectAltNames> {
  /** Subject attributes; empty by default, as Istio's workload CSRs (identity is in the SAN). */
  subject?: ReadonlyArray<readonly [string, string]>;
}

export interface ParsedCsr {
  publicKey: KeyObject;
  /** SubjectPublicKeyInfo DER as sent (reused when issuing, saving a key export). */
  spki: Buffer;
  sans: SubjectAltNames;
  /** DER of the requested subject Name. */
  subject: Buffer;
}

/** Builds a signed CSR (PEM) for `privateKey` with the given SANs. */
export function buildCsr(privateKey: KeyObject, options: CsrOptions = {}): string {
  const spki = publicKeyOf(privateKey).export({ type: 'spki', format: 'der' });
  const exts = seq(extension(EXT.subjectAltName, true, encodeSans(options)));
  const attributes = ctx(0, seq(oid(EXT.extensionRequest), set(exts)));
  const info = seq(Buffer.from([0x02, 0x01, 0x00]), encodeName(options.subject ?? []), spki, attributes);
  const der = seq(info, signatureAlgorithm(privateKey), bits(signData(privateKey, info)));
  return toPem(der, 'CERTIFICATE REQUEST');
}

const MAX_CSR_BYTES = 16 * 1024;

/** Parses and verifies a PEM CSR; throws PKI_ERR_BAD_CSR with the reason. */
export function parseCsr(pem: string): ParsedCsr {
  const bad = (why: string) => pkiErrors.error('PKI_ERR_BAD_CSR', { why });
  if (typeof pem !== 'string' || pem.length > MAX_CSR_BYTES) throw bad('missing or larger than 16 KiB');
  const ders = fromPem(pem, 'CERTIFICATE REQUEST');
  if (ders.length !== 1) throw bad('expected exactly one PEM "CERTIFICATE REQUEST" block');
  try {
    const [info, alg, sig] = children(expectTag(readAll(ders[0]), Tag.SEQUENCE, 'CertificationRequest'));
    const infoParts = children(expectTag(info, Tag.SEQUENCE, 'CertificationRequestInfo'));
    if (infoParts.length < 3 || infoParts[0].value.length !== 1 || infoParts[0].value[0] !== 0)
      throw bad('unsupported version');
    const subject = expectTag(infoParts[1], Tag.SEQUENCE, 'subject').raw;
    let publicKey: KeyObject;
    const spki = Buffer.from(expectTag(infoParts[2], Tag.SEQUENCE, 'spki').raw);
    try {
      publicKey = createPublicKey({
        key: spki,
        format: 'der',
        type: 'spki',
      });
    } catch {
      throw bad('unreadable public key');
    }
    const weak = checkKeyStrength(publicKey);
    if (weak) throw bad(weak);
    const algOid = readOid(children(expectTag(alg, Tag.SEQUENCE, 'signatureAlgorithm'))[0]);
    if (!verifyData(algOid, publicKey, info.raw, readBits(expectTag(sig, Tag.BIT_STRING, 'signature')))) {
      throw bad('signature does not verify with the enclosed public key');
    }
    let sans: SubjectAltNames = { uris: [], dns: [], ips: [] };
    const attrs = infoParts[3];
    if (attrs && attrs.tag === 0xa0) {
      for (const attr of children(attrs)) {
        const [id, values] = children(attr);
        if (readOid(id) !== EXT.extensionRequest) continue;
        const exts = readExtensions(children(expectTag(values, Tag.SET, 'attribute values'))[0]);
        const san = exts.get(EXT.subjectAltName);
        if (san) sans = decodeSans(san.value);
      }
    }
    return { publicKey, spki, sans, subject };
  } catch (e) {
    if (e instanceof Asn1Error) throw bad(`malformed DER (${e.message})`);
    if (e instanceof TypeError || e instanceof RangeError) throw bad('malformed DER');
    throw e;
  }
}
