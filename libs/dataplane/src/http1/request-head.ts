/**
 * Strict HTTP/1.1 request-head parsing for the downstream codec (RFC 9112). It works on the
 * latin1 text of one head (request line and header lines, without the final empty line) and
 * refuses what a smuggling or injection attempt needs: bare CR or LF, NUL and other control
 * characters, obs-fold continuation lines, whitespace before the colon, Content-Length together
 * with Transfer-Encoding, conflicting or malformed Content-Length, a Transfer-Encoding other than
 * `chunked`, more than one Host, and request lines that are not `token SP target SP HTTP/1.x`.
 */
import { fieldName, isToken } from './header-chars';

export type RequestHeaders = Record<string, string | string[] | undefined>;

export interface RequestHead {
  method: string;
  /** The request target as sent (origin-form, absolute-form, authority-form or `*`). */
  url: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor: number;
  /** Lower-case names; repeated fields joined with `, ` (`cookie` with `; `, `set-cookie` kept apart). */
  headers: RequestHeaders;
  headerCount: number;
  /** Body framing declared by the head. */
  framing: 'none' | 'length' | 'chunked';
  contentLength: number;
  /** The connection stays open after this exchange (HTTP/1.1 default, HTTP/1.0 with keep-alive). */
  keepAlive: boolean;
  /** `Upgrade` was asked for (WebSocket, h2c): the node `http.Server` path handles those. */
  upgrade: boolean;
  /** `Expect: 100-continue`. */
  expectContinue: boolean;
}

export interface HeadError {
  error: 400 | 431 | 501;
  reason: string;
}

/** Request target: visible ASCII only (no space, no control character, no DEL, no 8-bit). */
const TARGET = /^[\x21-\x7e]+$/;
/** Control characters a head may not contain anywhere (HTAB, CR and LF are checked apart). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_CTL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
/** A CR not followed by LF, or an LF not preceded by CR. */
const BARE_CR_LF = /\r(?!\n)|(?<!\r)\n/;
const DIGITS = /^\d{1,15}$/;

function fail(error: HeadError['error'], reason: string): HeadError {
  return { error, reason };
}

/** `text[from, to)` without optional whitespace (SP / HTAB) around it. */
function trimOws(text: string, from: number, to: number): string {
  let a = from;
  let b = to;
  while (a < b && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
  while (b > a && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--;
  return text.slice(a, b);
}

/**
 * Parses one request head. `text` is everything before the `\r\n\r\n` that ends it (leading
 * empty lines already skipped). `maxHeaders` bounds the number of header fields (431 beyond).
 */
export function parseRequestHead(text: string, maxHeaders: number): RequestHead | HeadError {
  if (BARE_CR_LF.test(text)) return fail(400, 'bare CR or LF in request head');
  if (BAD_CTL.test(text)) return fail(400, 'control character in request head');
  const lineEnd = text.indexOf('\r\n');
  const le = lineEnd < 0 ? text.length : lineEnd;
  let sp1 = text.indexOf(' ');
  if (sp1 >= le) sp1 = -1;
  // The usual line ends with " HTTP/1.1" or " HTTP/1.0": its last space is known without a search.
  const usual = le >= 9 && (text.startsWith(' HTTP/1.1', le - 9) || text.startsWith(' HTTP/1.0', le - 9));
  let sp2: number;
  if (usual) sp2 = le - 9;
  else sp2 = lineEnd < 0 ? text.lastIndexOf(' ') : text.slice(0, lineEnd).lastIndexOf(' ');
  if (sp1 <= 0 || sp2 === sp1) return fail(400, 'malformed request line');
  const method = text.slice(0, sp1);
  const url = text.slice(sp1 + 1, sp2);
  if (!isToken(method)) return fail(400, 'invalid method');
  if (!TARGET.test(url)) return fail(400, 'invalid request target');
  let versionMinor: number;
  if (usual) versionMinor = text.charCodeAt(le - 1) - 48;
  else {
    const version = text.slice(sp2 + 1, le);
    if (version === 'HTTP/1.1') versionMinor = 1;
    else if (version === 'HTTP/1.0') versionMinor = 0;
    else return fail(400, 'unsupported HTTP version');
  }

  const headers: RequestHeaders = {};
  let count = 0;
  let pos = lineEnd < 0 ? text.length : lineEnd + 2;
  let hosts = 0;
  while (pos < text.length) {
    let end = text.indexOf('\r\n', pos);
    if (end < 0) end = text.length;
    const c0 = text.charCodeAt(pos);
    if (c0 === 32 || c0 === 9) return fail(400, 'obsolete line folding');
    const colon = text.indexOf(':', pos);
    if (colon < 0 || colon >= end) return fail(400, 'header line without a colon');
    if (++count > maxHeaders) return fail(431, 'too many headers');
    const name = fieldName(text, pos, colon);
    if (name === null) return fail(400, 'invalid header name');
    const value = trimOws(text, colon + 1, end);
    pos = end + 2;
    const cur = headers[name];
    if (name === 'host') hosts++;
    if (cur === undefined) {
      headers[name] = name === 'set-cookie' ? [value] : value;
    } else if (name === 'set-cookie') {
      (cur as string[]).push(value);
    } else if (name === 'content-length') {
      if (cur !== value) return fail(400, 'conflicting content-length');
    } else {
      headers[name] = `${cur as string}${name === 'cookie' ? '; ' : ', '}${value}`;
    }
  }
  if (hosts > 1) return fail(400, 'more than one host header');

  let framing: RequestHead['framing'] = 'none';
  let contentLength = 0;
  const te = headers['transfer-encoding'] as string | undefined;
  const cl = headers['content-length'] as string | undefined;
  if (te !== undefined) {
    if (cl !== undefined) return fail(400, 'content-length with transfer-encoding');
    if (te.toLowerCase() !== 'chunked') return fail(501, 'unsupported transfer-encoding');
    framing = 'chunked';
  } else if (cl !== undefined) {
    if (!DIGITS.test(cl)) return fail(400, 'invalid content-length');
    contentLength = Number(cl);
    framing = contentLength > 0 ? 'length' : 'none';
  }
  const conn = headers['connection'] as string | undefined;
  const connLower = conn === undefined ? '' : conn.toLowerCase();
  const keepAlive = versionMinor === 1 ? !hasToken(connLower, 'close') : hasToken(connLower, 'keep-alive');
  const upgrade = headers['upgrade'] !== undefined && hasToken(connLower, 'upgrade');
  const expect = headers['expect'] as string | undefined;
  return {
    method,
    url,
    versionMinor,
    headers,
    headerCount: count,
    framing,
    contentLength,
    keepAlive,
    upgrade,
    expectContinue: expect !== undefined && versionMinor === 1 && expect.toLowerCase() === '100-continue',
  };
}

/** Whether a comma-separated, lower-case header value lists `token`. */
export function hasToken(list: string, token: string): boolean {
  if (list === token) return true;
  if (list.indexOf(token) < 0) return false;
  for (const part of list.split(',')) if (part.trim() === token) return true;
  return false;
}

export function isHeadError(h: RequestHead | HeadError): h is HeadError {
  return (h as HeadError).error !== undefined;
}

const HEX = /^[0-9a-fA-F]{1,13}$/;

/**
 * Parses a chunk-size line (without its CRLF): hex digits, then optional `;extensions`.
 * Returns the size, or -1 when the line is malformed (sign, `0x`, spaces inside, too long…).
 */
export function parseChunkSize(line: string): number {
  const semi = line.indexOf(';');
  let digits = semi < 0 ? line : line.slice(0, semi);
  // BWS before the extension is tolerated (RFC 9112 §7.1.1); nothing else around the digits.
  if (semi >= 0) digits = digits.replace(/[ \t]+$/, '');
  if (!HEX.test(digits)) return -1;
  if (semi >= 0 && (BAD_CTL.test(line) || /[\r\n]/.test(line))) return -1;
  return parseInt(digits, 16);
}
