/**
 * Minimal DER (X.690) encoder and reader: just the types X.509 certificates and
 * PKCS#10 requests need. Written here because node-forge has no EC support and
 * Node's crypto signs bytes but does not build certificates.
 */

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with the given tag byte. */
export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
}

export const seq = (...items: Buffer[]): Buffer => tlv(Tag.SEQUENCE, Buffer.concat(items));
export const set = (...items: Buffer[]): Buffer => tlv(Tag.SET, Buffer.concat(items));
export const nul = (): Buffer => Buffer.from([Tag.NULL, 0]);
export const bool = (v: boolean): Buffer => tlv(Tag.BOOLEAN, Buffer.from([v ? 0xff : 0]));
export const octets = (b: Buffer): Buffer => tlv(Tag.OCTET_STRING, b);
export const utf8 = (s: string): Buffer => tlv(Tag.UTF8_STRING, Buffer.from(s, 'utf8'));
export const ia5 = (s: string): Buffer => tlv(Tag.IA5_STRING, Buffer.from(s, 'latin1'));
/** BIT STRING with `unused` trailing bits in the last byte. */
export const bits = (b: Buffer, unused = 0): Buffer => tlv(Tag.BIT_STRING, Buffer.concat([Buffer.from([unused]), b]));
/** Context-specific tag `[n]`; constructed for EXPLICIT wrappers and SEQUENCE-like implicit content. */
export const ctx = (n: number, content: Buffer, constructed = true): Buffer =>
  tlv((constructed ? 0xa0 : 0x80) | n, content);

/** Non-negative INTEGER from unsigned big-endian bytes (adds the sign byte when needed). */
export function uint(value: Buffer | number): Buffer {
  let b = value;
  if (typeof b === 'number') {
    const hex = b.toString(16);
    b = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  }
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  b = b.subarray(i);
  if (b.length === 0) b = Buffer.from([0]);
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(Tag.INTEGER, b);
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(Tag.OID, Buffer.from(out));
}

/** UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5). */
export function time(ms: number): Buffer {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  if (y >= 1950 && y < 2050) return tlv(Tag.UTC_TIME, Buffer.from(`${p(y % 100)}${rest}`, 'latin1'));
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(`${String(y).padStart(4, '0')}${rest}`, 'latin1'));
}

/** A parsed TLV: `raw` is the whole element, `value` its content. */
export interface Node {
  tag: number;
  raw: Buffer;
  value: Buffer;
}

export class Asn1Error extends Error {}

/** Reads one TLV at `offset`; throws Asn1Error on truncated or indefinite-length input. */
export function read(buf: Buffer, offset = 0): Node {
  if (offset + 2 > buf.length) throw new Asn1Error('truncated DER');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new Asn1Error('multi-byte tags are not supported');
  let len = buf[offset + 1];
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Asn1Error('unsupported DER length');
    if (offset + 2 + n > buf.length) throw new Asn1Error('truncated DER');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i];
    header += n;
  }
  const end = offset + header + len;
  if (end > buf.length) throw new Asn1Error('truncated DER');
  return { tag, raw: buf.subarray(offset, end), value: buf.subarray(offset + header, end) };
}

/** Children of a constructed element. */
export function children(node: Node): Node[] {
  const out: Node[] = [];
  for (let off = 0; off < node.value.length;) {
    const child = read(node.value, off);
    out.push(child);
    off += child.raw.length;
  }
  return out;
}

/** Reads exactly one element filling the whole buffer. */
export function readAll(buf: Buffer): Node {
  const node = read(buf, 0);
  if (node.raw.length !== buf.length) throw new Asn1Error('trailing bytes after DER element');
  return node;
}

export function expectTag(node: Node | undefined, tag: number, what: string): Node {
  if (!node || node.tag !== tag) throw new Asn1Error(`${what}: expected tag 0x${tag.toString(16)}`);
  return node;
}

export function readOid(node: Node): string {
  expectTag(node, Tag.OID, 'OID');
  const b = node.value;
  if (b.length === 0) throw new Asn1Error('empty OID');
  const parts: number[] = [Math.floor(b[0] / 40), b[0] % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** The contents of a BIT STRING without the unused-bits byte. */
export function readBits(node: Node): Buffer {
  expectTag(node, Tag.BIT_STRING, 'BIT STRING');
  return node.value.subarray(1);
}

export function toPem(der: Buffer, label: string): string {
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Every PEM block with the given label, as DER. */
export function fromPem(pem: string, label: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*?)-----END ${label}-----`, 'g');
  const out: Buffer[] = [];
  for (const m of pem.matchAll(re)) out.push(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
  return out;
}
