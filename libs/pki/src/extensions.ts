/**
 * X.509 v3 extensions used by mesh certificates (RFC 5280 §4.2): subjectAltName
 * (URI = SPIFFE ID, DNS, IP), key usage, extended key usage, basic constraints
 * and key identifiers; plus Name (subject/issuer) encoding.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  Asn1Error,
  Tag,
  bits,
  bool,
  children,
  ctx,
  expectTag,
  octets,
  oid,
  readOid,
  readAll,
  seq,
  set,
  tlv,
  uint,
  utf8,
  type Node,
} from './asn1';

export const EXT = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  extensionRequest: '1.2.840.113549.1.9.14',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

const NAME_OIDS: Record<string, string> = { O: '2.5.4.10', CN: '2.5.4.3', OU: '2.5.4.11' };

export interface SubjectAltNames {
  uris: string[];
  dns: string[];
  ips: string[];
}

/** Name from ordered attributes, e.g. `[['O','cluster.local'],['CN','Root CA']]`. */
export function encodeName(attrs: ReadonlyArray<readonly [string, string]>): Buffer {
  return seq(...attrs.map(([k, v]) => set(seq(oid(NAME_OIDS[k] ?? k), utf8(v)))));
}

export function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.concat(groups.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')));
}

export function encodeSans(sans: Partial<SubjectAltNames>): Buffer {
  return seq(
    ...(sans.uris ?? []).map((u) => tlv(0x86, Buffer.from(u, 'latin1'))),
    ...(sans.dns ?? []).map((d) => tlv(0x82, Buffer.from(d, 'latin1'))),
    ...(sans.ips ?? []).map((i) => tlv(0x87, ipBytes(i))),
  );
}

/** Decodes GeneralNames; bytes are kept exactly (a NUL stays a NUL, so exact matching can refuse it). */
export function decodeSans(der: Buffer): SubjectAltNames {
  const out: SubjectAltNames = { uris: [], dns: [], ips: [] };
  for (const gn of children(expectTag(readAll(der), Tag.SEQUENCE, 'GeneralNames'))) {
    if (gn.tag === 0x86) out.uris.push(gn.value.toString('latin1'));
    else if (gn.tag === 0x82) out.dns.push(gn.value.toString('latin1'));
    else if (gn.tag === 0x87) out.ips.push(formatIp(gn.value));
  }
  return out;
}

function formatIp(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}

export function keyUsage(isCa: boolean): Buffer {
  // Leaf: digitalSignature(0) + keyEncipherment(2); CA: digitalSignature(0) + keyCertSign(5) + cRLSign(6).
  return isCa ? bits(Buffer.from([0x86]), 1) : bits(Buffer.from([0xa0]), 5);
}

export function basicConstraints(isCa: boolean, pathLen?: number): Buffer {
  if (!isCa) return seq();
  return seq(bool(true), ...(pathLen === undefined ? [] : [uint(pathLen)]));
}

export const extKeyUsage = (): Buffer => seq(oid(EXT.serverAuth), oid(EXT.clientAuth));

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  return keyIdentifierOfSpki(publicKey.export({ type: 'spki', format: 'der' }));
}

/** Same, from SubjectPublicKeyInfo DER (saves a key export on the signing path). */
export function keyIdentifierOfSpki(spkiDer: Buffer): Buffer {
  const bitString = children(readAll(spkiDer))[1];
  return createHash('sha1').update(bitString.value.subarray(1)).digest();
}

export const authorityKeyId = (id: Buffer): Buffer => seq(ctx(0, id, false));

/** Extensions of a certificate or CSR as `oid → {critical, value}`. */
export function readExtensions(extsSeq: Node): Map<string, { critical: boolean; value: Buffer }> {
  const out = new Map<string, { critical: boolean; value: Buffer }>();
  for (const ext of children(expectTag(extsSeq, Tag.SEQUENCE, 'Extensions'))) {
    const parts = children(ext);
    const id = readOid(parts[0]);
    const critical = parts.length === 3 && parts[1].tag === Tag.BOOLEAN && parts[1].value[0] !== 0;
    const value = expectTag(parts[parts.length - 1], Tag.OCTET_STRING, 'extnValue').value;
    if (out.has(id)) throw new Asn1Error(`duplicate extension ${id}`);
    out.set(id, { critical, value });
  }
  return out;
}
