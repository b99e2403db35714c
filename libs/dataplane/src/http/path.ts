/**
 * Request-path normalization before routing and policy (Envoy `normalize_path`, `merge_slashes`,
 * `path_with_escaped_slashes_action`): percent-encoded unreserved characters are decoded, the
 * rest upper-cased, `\` becomes `/`, slashes merged, dot segments removed (RFC 3986 §5.2.4).
 * The normalized path is what routing, RBAC and the upstream all see.
 */
export type EscapedSlashesAction =
  'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';

export interface PathOptions {
  normalize: boolean;
  mergeSlashes: boolean;
  escapedSlashes: EscapedSlashesAction;
}

export type PathResult = { ok: true; path: string; query: string; redirect?: boolean } | { ok: false; reason: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const ESCAPED_SLASH = /%(2f|5c)/i;
// Anything outside RFC 3986 pchar / "/" / "?" plus "%" (checked separately) is rejected.
const INVALID_CHARS = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%\\[\]]/;

function decodeUnreserved(p: string): string | null {
  if (!p.includes('%')) return p;
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    const hex = p.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
    const ch = String.fromCharCode(parseInt(hex, 16));
    out += UNRESERVED.test(ch) ? ch : '%' + hex.toUpperCase();
    i += 2;
  }
  return out;
}

function removeDotSegments(p: string): string {
  if (!p.includes('.')) return p;
  const input = p.split('/');
  const out: string[] = [];
  for (let i = 0; i < input.length; i++) {
    const seg = input[i];
    if (seg === '.') {
      if (i === input.length - 1) out.push('');
      continue;
    }
    if (seg === '..') {
      if (out.length > 1) out.pop();
      if (i === input.length - 1) out.push('');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  return joined.startsWith('/') ? joined : '/' + joined;
}

/** Normalizes an origin-form request target (`/a/b?x=1`). */
export function normalizePath(target: string, opts: PathOptions): PathResult {
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  let path = q >= 0 ? target.slice(0, q) : target;
  const query = q >= 0 ? target.slice(q + 1) : '';
  if (!path.startsWith('/')) return { ok: false, reason: 'path must start with /' };
  if (INVALID_CHARS.test(path)) return { ok: false, reason: 'invalid character in path' };
  let redirect = false;
  if (path.includes('%') && ESCAPED_SLASH.test(path)) {
    switch (opts.escapedSlashes) {
      case 'REJECT_REQUEST':
        return { ok: false, reason: 'escaped slashes in path' };
      case 'UNESCAPE_AND_REDIRECT':
        redirect = true;
        path = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
        break;
      case 'UNESCAPE_AND_FORWARD':
        path = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
        break;
      default:
        break;
    }
  }
  if (opts.normalize) {
    const decoded = decodeUnreserved(path);
    if (decoded === null) return { ok: false, reason: 'invalid percent-encoding in path' };
    path = removeDotSegments(decoded.includes('\\') ? decoded.replace(/\\/g, '/') : decoded);
  }
  if (opts.mergeSlashes && path.includes('//')) path = path.replace(/\/{2,}/g, '/');
  return redirect ? { ok: true, path, query, redirect } : { ok: true, path, query };
}
