/**
 * Character-level checks shared by the HTTP/1 codecs (downstream request heads, upstream
 * response heads, response serialization), done with one loop over the characters instead of a
 * regular expression, a `toLowerCase()` and a trim per field:
 *  - a field name is an RFC 9110 token; upper-case letters are found in the same pass, so an
 *    already lower-case name is not copied again;
 *  - a name that is one of the common fields comes back as the interned constant (no substring,
 *    no string-table lookup when it becomes a property key);
 *  - a field value may not hold NUL, CR or LF; optional whitespace around it is dropped.
 */

/** Per ASCII code: 0 not a token character, 1 token character, 2 upper-case letter. */
const TCHAR = new Uint8Array(128);
for (const ch of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") TCHAR[ch.charCodeAt(0)] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 2;

/** Field names seen on most requests and responses (lower case). */
const COMMON = [
  'accept',
  'accept-encoding',
  'accept-language',
  'accept-ranges',
  'access-control-allow-origin',
  'age',
  'authorization',
  'cache-control',
  'connection',
  'content-encoding',
  'content-length',
  'content-type',
  'cookie',
  'date',
  'etag',
  'expect',
  'expires',
  'grpc-encoding',
  'grpc-accept-encoding',
  'grpc-message',
  'grpc-status',
  'grpc-timeout',
  'host',
  'if-modified-since',
  'if-none-match',
  'keep-alive',
  'last-modified',
  'location',
  'origin',
  'pragma',
  'referer',
  'server',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'vary',
  'via',
  'x-b3-flags',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-spanid',
  'x-b3-traceid',
  'x-envoy-attempt-count',
  'x-envoy-decorator-operation',
  'x-envoy-expected-rq-timeout-ms',
  'x-envoy-original-path',
  'x-envoy-peer-metadata',
  'x-envoy-peer-metadata-id',
  'x-envoy-upstream-service-time',
  'x-forwarded-client-cert',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-istio-attributes',
  'x-ot-span-context',
  'x-powered-by',
  'x-request-id',
];

const SLOTS = 1024;
/** Open table of COMMON by name hash (a colliding name is simply not in it: it is sliced). */
const TABLE: (string | null)[] = new Array<string | null>(SLOTS).fill(null);
function nameHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}
for (const n of COMMON) {
  const slot = nameHash(n) & (SLOTS - 1);
  if (TABLE[slot] === null) TABLE[slot] = n;
}

/**
 * The lower-case field name in `text[from, to)`, or null when it is empty or not a token.
 * A common name is returned as its constant.
 */
export function fieldName(text: string, from: number, to: number): string | null {
  if (to <= from) return null;
  let h = 0;
  let upper = false;
  for (let i = from; i < to; i++) {
    let ch = text.charCodeAt(i);
    const t = ch < 128 ? TCHAR[ch] : 0;
    if (t === 0) return null;
    if (t === 2) {
      upper = true;
      ch += 32;
    }
    h = (Math.imul(h, 31) + ch) | 0;
  }
  const known = TABLE[h & (SLOTS - 1)];
  if (known !== null && known.length === to - from) {
    let same = true;
    for (let k = 0; k < known.length; k++) {
      let ch = text.charCodeAt(from + k);
      if (ch >= 65 && ch <= 90) ch += 32;
      if (ch !== known.charCodeAt(k)) {
        same = false;
        break;
      }
    }
    if (same) return known;
  }
  const name = text.slice(from, to);
  return upper ? name.toLowerCase() : name;
}

/** Whether `name` is a token with no upper-case letter (a name a codec may write as is). */
export function isLowerToken(name: string): boolean {
  const n = name.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const ch = name.charCodeAt(i);
    if (ch >= 128 || TCHAR[ch] !== 1) return false;
  }
  return true;
}

/** Whether `name` is a token (any case). */
export function isToken(name: string): boolean {
  const n = name.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const ch = name.charCodeAt(i);
    if (ch >= 128 || TCHAR[ch] === 0) return false;
  }
  return true;
}

/** Whether `v` holds NUL, CR or LF (never allowed in a field value). */
export function hasBadValueChar(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const ch = v.charCodeAt(i);
    if (ch === 13 || ch === 10 || ch === 0) return true;
  }
  return false;
}

/**
 * The field value in `text[from, to)` without optional whitespace (SP / HTAB) around it, or null
 * when it holds NUL, CR or LF.
 */
export function fieldValue(text: string, from: number, to: number): string | null {
  let a = from;
  let b = to;
  let ch = 0;
  while (a < b && ((ch = text.charCodeAt(a)) === 32 || ch === 9)) a++;
  while (b > a && ((ch = text.charCodeAt(b - 1)) === 32 || ch === 9)) b--;
  for (let i = a; i < b; i++) {
    ch = text.charCodeAt(i);
    if (ch === 13 || ch === 10 || ch === 0) return null;
  }
  return text.slice(a, b);
}
