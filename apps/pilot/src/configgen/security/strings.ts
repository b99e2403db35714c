/**
 * Istio value syntax → Envoy StringMatcher: exact, `prefix*`, `*suffix`, and a
 * lone `*` (any non-empty value), as Istio's authz builder translates them.
 */
export type StringMatcher = Record<string, unknown>;

export function istioStringMatch(v: string, ignoreCase = false): StringMatcher {
  const ic = ignoreCase ? { ignore_case: true } : {};
  if (v === '*') return { safe_regex: { regex: '.+' } };
  if (v.endsWith('*')) return { prefix: v.slice(0, -1), ...ic };
  if (v.startsWith('*')) return { suffix: v.slice(1), ...ic };
  return { exact: v, ...ic };
}

/** Principal form (`cluster.local/ns/a/sa/b`) → SPIFFE URI for matching the peer certificate's SAN. */
export function spiffeMatch(principal: string): StringMatcher {
  if (principal === '*') return { safe_regex: { regex: '.+' } };
  if (principal.endsWith('*')) return { prefix: `spiffe://${principal.slice(0, -1)}` };
  if (principal.startsWith('*')) return { suffix: principal.slice(1) };
  return { exact: `spiffe://${principal}` };
}

// Istio matches a source namespace with the principal regex ".*/ns/<ns>/.*".
export function namespaceMatch(ns: string): StringMatcher {
  if (ns === '*') return { safe_regex: { regex: '.+' } };
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  if (ns.endsWith('*')) return { safe_regex: { regex: `.*/ns/${esc(ns.slice(0, -1))}[^/]*/.*` } };
  if (ns.startsWith('*')) return { safe_regex: { regex: `.*/ns/[^/]*${esc(ns.slice(1))}/.*` } };
  return { safe_regex: { regex: `.*/ns/${esc(ns)}/.*` } };
}

/** `10.0.0.0/8` or `10.1.2.3` → Envoy CidrRange. */
export function cidrRange(block: string): { address_prefix: string; prefix_len: { value: number } } {
  const [addr, len] = block.split('/');
  return {
    address_prefix: addr,
    prefix_len: { value: len !== undefined ? Number(len) : addr.includes(':') ? 128 : 32 },
  };
}

/** Does an Istio-syntax value (exact, prefix*, *suffix, *) match `s`? For decisions made in Pilot. */
export function istioValueMatches(pattern: string, s: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return s.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return s.endsWith(pattern.slice(1));
  return pattern === s;
}
