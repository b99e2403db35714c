import { DEFAULT_DOMAIN } from './defaults';

/**
 * Host name helpers with Istio's semantics ([I10] `pilot/pkg/model/config.go`
 * `ResolveShortnameToFQDN`, `pilot/pkg/model/service.go` `Hostname.Matches`).
 */

/**
 * Expands a short name in `namespace`: `reviews` → `reviews.default.svc.cluster.local`,
 * `reviews.ns2` → `reviews.ns2.svc.cluster.local`. Names with two or more dots,
 * wildcards and IPs are returned as written. Istio 1.0's `ResolveShortnameToFQDN`
 * expanded only dot-less names; `name.namespace` is expanded here as the Istio docs describe it.
 */
export function fqdn(host: string, namespace: string, domain = DEFAULT_DOMAIN): string {
  if (host === '*' || host === '') return host;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':')) return host;
  if (host.startsWith('*')) return host;
  const dots = host.split('.').length - 1;
  if (dots === 0) return `${host}.${namespace}.svc.${domain}`;
  if (dots === 1) return `${host}.svc.${domain}`;
  return host;
}

/** True when `host` is matched by `pattern`: exact, `*`, or `*.example.com` (suffix, at least one label). */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (p === '*') return true;
  if (p.startsWith('*')) {
    const suffix = p.slice(1); // ".example.com"
    if (h.startsWith('*')) return h.slice(1).endsWith(suffix);
    return h.endsWith(suffix) && h.length > suffix.length;
  }
  return p === h;
}

/** True when the two host patterns can match a common host (either may be a wildcard). */
export function hostsIntersect(a: string, b: string): boolean {
  return hostMatches(a, b) || hostMatches(b, a);
}

const LABEL = /^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$/i;

/** Why `host` is not a valid (possibly wildcard) DNS name, or null when it is. */
export function hostProblem(host: string, opts: { allowWildcard?: boolean } = {}): string | null {
  const allowWildcard = opts.allowWildcard ?? true;
  if (host === '') return 'empty host';
  if (host.length > 255) return 'longer than 255 characters';
  let rest = host;
  if (host === '*') return allowWildcard ? null : 'wildcard not allowed here';
  if (host.startsWith('*.')) {
    if (!allowWildcard) return 'wildcard not allowed here';
    rest = host.slice(2);
  } else if (host.startsWith('*')) {
    if (!allowWildcard) return 'wildcard not allowed here';
    rest = host.slice(1);
    if (rest.startsWith('.')) rest = rest.slice(1);
  }
  for (const label of rest.split('.')) {
    if (label === '') return 'empty DNS label';
    if (label.length > 63) return `DNS label ${label} longer than 63 characters`;
    if (label.includes('*')) return 'a wildcard is only allowed as the first label';
    if (!LABEL.test(label)) return `invalid DNS label ${JSON.stringify(label)}`;
  }
  return null;
}
