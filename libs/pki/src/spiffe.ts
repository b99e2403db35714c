/**
 * SPIFFE identities as Istio uses them: `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`
 * in the certificate's URI SAN; the principal string used by authn/RBAC policy
 * is the same without the scheme (`cluster.local/ns/default/sa/productpage`).
 * Parsing is strict: anything a lax parser could read two ways is refused.
 */
import { pkiErrors } from './errors';

export interface SpiffeId {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

const TRUST_DOMAIN = /^[a-z0-9](?:[a-z0-9._-]{0,253}[a-z0-9])?$/;
// Kubernetes names are DNS-1123 labels/subdomains; allow what they allow.
const SEGMENT = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/;

function bad(id: string, why: string) {
  return pkiErrors.error('PKI_ERR_BAD_SPIFFE_ID', { id: JSON.stringify(id).slice(1, -1), why });
}

/** Parses `spiffe://td/ns/x/sa/y`; throws PKI_ERR_BAD_SPIFFE_ID. */
export function parseSpiffeId(uri: string): SpiffeId {
  if (typeof uri !== 'string') throw bad(String(uri), 'not a string');
  if (!uri.startsWith('spiffe://')) throw bad(uri, 'scheme must be spiffe://');
  return parsePath(uri, uri.slice('spiffe://'.length));
}

/** Parses the principal form `td/ns/x/sa/y` (no scheme). */
export function parsePrincipal(principal: string): SpiffeId {
  return parsePath(principal, principal);
}

function parsePath(original: string, rest: string): SpiffeId {
  // Control characters (NUL in particular), spaces, escapes, queries, fragments, userinfo and ports never appear.
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) throw bad(original, 'contains a control, space or non-ASCII character');
  }
  if (/[%?#@:\\]/.test(rest)) throw bad(original, 'contains one of % ? # @ : \\');
  const parts = rest.split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa')
    throw bad(original, 'path must be /ns/<namespace>/sa/<serviceaccount>');
  const [trustDomain, , namespace, , serviceAccount] = parts;
  if (!TRUST_DOMAIN.test(trustDomain))
    throw bad(original, 'trust domain must be lower-case letters, digits, ".", "-" or "_"');
  if (!SEGMENT.test(namespace)) throw bad(original, 'namespace is not a valid Kubernetes name');
  if (!SEGMENT.test(serviceAccount)) throw bad(original, 'service account is not a valid Kubernetes name');
  return { trustDomain, namespace, serviceAccount };
}

/** Like parseSpiffeId but returns null instead of throwing. */
export function tryParseSpiffeId(uri: string): SpiffeId | null {
  try {
    return parseSpiffeId(uri);
  } catch {
    return null;
  }
}

export function formatSpiffeId(id: SpiffeId): string {
  return `spiffe://${formatPrincipal(id)}`;
}

/** `cluster.local/ns/default/sa/productpage`, the form policies use. */
export function formatPrincipal(id: SpiffeId): string {
  return `${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** Builds and validates an ID from its parts. */
export function spiffeId(namespace: string, serviceAccount: string, trustDomain = DEFAULT_TRUST_DOMAIN): SpiffeId {
  const id = { trustDomain, namespace, serviceAccount };
  parseSpiffeId(formatSpiffeId(id));
  return id;
}

export function sameIdentity(a: SpiffeId, b: SpiffeId): boolean {
  return a.trustDomain === b.trustDomain && a.namespace === b.namespace && a.serviceAccount === b.serviceAccount;
}
