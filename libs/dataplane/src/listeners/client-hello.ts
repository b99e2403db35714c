/**
 * A bounded TLS ClientHello reader for filter-chain matching (Envoy's
 * `envoy.filters.listener.tls_inspector`): reads SNI (RFC 6066 server_name, extension 0) and ALPN
 * (RFC 7301, extension 16) from the peeked bytes without consuming them. Malformed input is a
 * value, never an exception.
 */

/** Largest ClientHello (all its records) read before giving up, like Envoy's 64 KiB bound. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

export type ClientHelloResult =
  { kind: 'need-more' } | { kind: 'malformed' } | { kind: 'client-hello'; sni?: string; alpn: string[] };

const MALFORMED: ClientHelloResult = { kind: 'malformed' };
const NEED_MORE: ClientHelloResult = { kind: 'need-more' };

/** Whether the first byte looks like a TLS handshake record (content type 22). */
export function looksLikeTls(first: Buffer): boolean {
  return first.length > 0 && first[0] === 0x16;
}

/**
 * Parses the ClientHello at the start of `buf` (one or more TLS records). `need-more` asks for
 * more bytes; past {@link MAX_CLIENT_HELLO_BYTES} the answer is `malformed`.
 */
export function parseClientHello(buf: Buffer): ClientHelloResult {
  const frags: Buffer[] = [];
  let have = 0;
  let off = 0;
  for (;;) {
    if (buf.length - off < 5) return buf.length >= MAX_CLIENT_HELLO_BYTES ? MALFORMED : NEED_MORE;
    if (buf[off] !== 0x16 || buf[off + 1] !== 3) return MALFORMED;
    const len = buf.readUInt16BE(off + 3);
    if (len === 0 || len > 16384 + 2048) return MALFORMED;
    if (buf.length - off - 5 < len) {
      if (off + 5 + len > MAX_CLIENT_HELLO_BYTES) return MALFORMED;
      // Refuse early what the handshake header already shows to be no (or too large a) ClientHello.
      const head = Buffer.concat([...frags, buf.subarray(off + 5)]);
      if (head.length >= 1 && head[0] !== 1) return MALFORMED;
      if (head.length >= 4 && head.readUIntBE(1, 3) + 4 > MAX_CLIENT_HELLO_BYTES) return MALFORMED;
      return NEED_MORE;
    }
    frags.push(buf.subarray(off + 5, off + 5 + len));
    have += len;
    off += 5 + len;
    if (have < 4) continue;
    const hs = frags.length === 1 ? frags[0] : Buffer.concat(frags);
    if (hs[0] !== 1) return MALFORMED;
    const bodyLen = hs.readUIntBE(1, 3);
    if (bodyLen + 4 > MAX_CLIENT_HELLO_BYTES) return MALFORMED;
    if (have >= bodyLen + 4) return parseBody(hs.subarray(4, 4 + bodyLen));
  }
}

function parseBody(b: Buffer): ClientHelloResult {
  // legacy_version(2) random(32) session_id<0..32> cipher_suites<2..> compression<1..> extensions<0..>
  let p = 34;
  if (b.length < p + 1) return MALFORMED;
  p += 1 + b[p];
  if (b.length < p + 2) return MALFORMED;
  p += 2 + b.readUInt16BE(p);
  if (b.length < p + 1) return MALFORMED;
  p += 1 + b[p];
  if (p > b.length) return MALFORMED;
  if (p === b.length) return { kind: 'client-hello', alpn: [] };
  if (b.length < p + 2) return MALFORMED;
  const end = p + 2 + b.readUInt16BE(p);
  if (end > b.length) return MALFORMED;
  p += 2;
  let sni: string | undefined;
  const alpn: string[] = [];
  while (p < end) {
    if (end - p < 4) return MALFORMED;
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const data = b.subarray(p + 4, p + 4 + len);
    if (data.length !== len) return MALFORMED;
    p += 4 + len;
    if (type === 0) {
      const r = readServerName(data);
      if (r === null) return MALFORMED;
      sni = r;
    } else if (type === 16) {
      if (!readAlpn(data, alpn)) return MALFORMED;
    }
  }
  return sni === undefined ? { kind: 'client-hello', alpn } : { kind: 'client-hello', sni, alpn };
}

/** The host_name entry, lower-case without a trailing dot; `undefined` when absent or not a DNS name. */
function readServerName(d: Buffer): string | undefined | null {
  if (d.length < 2 || d.readUInt16BE(0) !== d.length - 2) return null;
  let p = 2;
  while (p < d.length) {
    if (d.length - p < 3) return null;
    const type = d[p];
    const len = d.readUInt16BE(p + 1);
    if (p + 3 + len > d.length) return null;
    if (type === 0) {
      const name = d
        .subarray(p + 3, p + 3 + len)
        .toString('latin1')
        .toLowerCase()
        .replace(/\.$/, '');
      return /^[a-z0-9_.-]{1,253}$/.test(name) ? name : undefined;
    }
    p += 3 + len;
  }
  return undefined;
}

function readAlpn(d: Buffer, out: string[]): boolean {
  if (d.length < 2 || d.readUInt16BE(0) !== d.length - 2) return false;
  let p = 2;
  while (p < d.length) {
    const len = d[p];
    if (len === 0 || p + 1 + len > d.length) return false;
    out.push(d.subarray(p + 1, p + 1 + len).toString('latin1'));
    p += 1 + len;
  }
  return true;
}
