/**
 * X.509 issuance: a self-signed root (or intermediate) for the CA and workload
 * leaves carrying the SPIFFE URI SAN, with the extensions Istio's CA sets
 * (leaf: digitalSignature+keyEncipherment, serverAuth+clientAuth; CA: certSign).
 */
import { X509Certificate, randomBytes, type KeyObject } from 'node:crypto';
import { Tag, bits, children, ctx, expectTag, fromPem, readAll, seq, time, toPem, uint } from './asn1';
import {
  EXT,
  authorityKeyId,
  basicConstraints,
  decodeSans,
  encodeName,
  encodeSans,
  extKeyUsage,
  extension,
  keyIdentifier,
  keyIdentifierOfSpki,
  keyUsage,
  readExtensions,
  type SubjectAltNames,
} from './extensions';
import { pkiErrors } from './errors';
import { publicKeyOf, signData, signatureAlgorithm } from './keys';

/** Backdating absorbs small clock skew between CA and peers. */
export const NOT_BEFORE_SKEW_MS = 60_000;

export interface IssueOptions {
  /** Public key being certified. */
  subjectKey: KeyObject;
  /** Its SubjectPublicKeyInfo DER, when already at hand (e.g. from the CSR); must encode `subjectKey`. */
  subjectSpki?: Buffer;
  /** Subject attributes; leaves use an empty subject (identity lives in the SAN). */
  subject?: ReadonlyArray<readonly [string, string]>;
  sans?: Partial<SubjectAltNames>;
  isCa?: boolean;
  pathLen?: number;
  ttlMs: number;
  now: number;
  /** Issuer: omitted for self-signed (then `signingKey` must be the subject's private key). */
  issuer?: X509Certificate;
  signingKey: KeyObject;
}

/** Issues one certificate; returns PEM. */
export function issueCertificate(o: IssueOptions): string {
  return toPem(issueCertificateDer(o), 'CERTIFICATE');
}

export function issueCertificateDer(o: IssueOptions): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01;
  const subjectName = encodeName(o.subject ?? []);
  const spki = o.subjectSpki ?? o.subjectKey.export({ type: 'spki', format: 'der' });
  const subjectKeyId = keyIdentifierOfSpki(spki);
  const issuerFacts = o.issuer ? issuerOf(o.issuer) : { name: subjectName, keyId: subjectKeyId };
  const issuerName = issuerFacts.name;
  const authorityId = issuerFacts.keyId;
  const sans = o.sans ?? {};
  const hasSans = (sans.uris?.length ?? 0) + (sans.dns?.length ?? 0) + (sans.ips?.length ?? 0) > 0;
  const exts = [
    extension(EXT.keyUsage, true, keyUsage(!!o.isCa)),
    ...(o.isCa ? [] : [extension(EXT.extKeyUsage, false, extKeyUsage())]),
    extension(EXT.basicConstraints, true, basicConstraints(!!o.isCa, o.pathLen)),
    extension(EXT.subjectKeyIdentifier, false, Buffer.concat([Buffer.from([0x04, subjectKeyId.length]), subjectKeyId])),
    extension(EXT.authorityKeyIdentifier, false, authorityKeyId(authorityId)),
    // RFC 5280: SAN is critical when the subject is empty.
    ...(hasSans ? [extension(EXT.subjectAltName, (o.subject ?? []).length === 0, encodeSans(sans))] : []),
  ];
  const sigAlg = signatureAlgorithm(o.signingKey);
  const tbs = seq(
    ctx(0, uint(2)),
    uint(serial),
    sigAlg,
    issuerName,
    seq(time(o.now - NOT_BEFORE_SKEW_MS), time(o.now + o.ttlMs)),
    subjectName,
    spki,
    ctx(3, seq(...exts)),
  );
  return seq(tbs, sigAlg, bits(signData(o.signingKey, tbs)));
}

// The issuer's name and key id are the same for every certificate it signs.
const issuerCache = new WeakMap<X509Certificate, { name: Buffer; keyId: Buffer }>();
function issuerOf(cert: X509Certificate): { name: Buffer; keyId: Buffer } {
  let facts = issuerCache.get(cert);
  if (!facts) issuerCache.set(cert, (facts = { name: subjectNameDer(cert), keyId: keyIdentifier(cert.publicKey) }));
  return facts;
}

/** Self-signed CA certificate for `key` (Istio 1.0: org = trust domain, 10 y). */
export function selfSignedRoot(key: KeyObject, org: string, ttlMs: number, now: number): string {
  return issueCertificate({
    subjectKey: publicKeyOf(key),
    subject: [
      ['O', org],
      ['CN', 'tsmesh root CA'],
    ],
    isCa: true,
    ttlMs,
    now,
    signingKey: key,
  });
}

/** The raw subject Name of a certificate (copied byte-for-byte into children's issuer). */
export function subjectNameDer(cert: X509Certificate): Buffer {
  const tbs = children(children(readAll(cert.raw))[0]);
  const offset = tbs[0].tag === 0xa0 ? 1 : 0;
  return tbs[offset + 4].raw;
}

export interface CertInfo {
  cert: X509Certificate;
  sans: SubjectAltNames;
  notBefore: number;
  notAfter: number;
  isCa: boolean;
}

/** Parses one certificate's DER/PEM plus the SANs decoded byte-exactly. */
export function inspectCertificate(input: string | Buffer | X509Certificate): CertInfo {
  let cert: X509Certificate;
  try {
    cert = input instanceof X509Certificate ? input : new X509Certificate(input);
  } catch (e) {
    throw pkiErrors.error('PKI_ERR_BAD_CERT', { why: (e as Error).message });
  }
  let sans: SubjectAltNames = { uris: [], dns: [], ips: [] };
  const tbs = children(children(readAll(cert.raw))[0]);
  const extsNode = tbs.find((n) => n.tag === 0xa3);
  if (extsNode) {
    const san = readExtensions(expectTag(children(extsNode)[0], Tag.SEQUENCE, 'Extensions')).get(EXT.subjectAltName);
    if (san) sans = decodeSans(san.value);
  }
  return { cert, sans, notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo), isCa: cert.ca };
}

/** Every certificate in a PEM bundle, in order. */
export function splitPemChain(pem: string): X509Certificate[] {
  return fromPem(pem, 'CERTIFICATE').map((der) => {
    try {
      return new X509Certificate(der);
    } catch (e) {
      throw pkiErrors.error('PKI_ERR_BAD_CERT', { why: (e as Error).message });
    }
  });
}

export const certToPem = (cert: X509Certificate): string => toPem(cert.raw, 'CERTIFICATE');
