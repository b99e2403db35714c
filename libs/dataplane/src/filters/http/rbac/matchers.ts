/**
 * Compiles Envoy's RBAC Permission and Principal trees
 * (envoy.config.rbac.v3.{Permission,Principal}) and MetadataMatcher into
 * predicates over one request view. Compiled once per push.
 */
import { BlockList, isIP } from 'node:net';
import type { FieldError } from '@tsmesh/core';
import type { Msg } from '../../../engine/types';
import { compileHeaderMatcher, compileStringMatcher, type HeaderGetter } from '../../../http/matchers';

/** What RBAC looks at for one request. `path` is the canonical path (no query). */
export interface RbacRequest {
  path: string;
  get: HeaderGetter;
  sourceIp: string;
  destinationIp: string;
  destinationPort: number;
  /** URI SAN of the verified peer certificate, when mTLS. */
  peerPrincipal?: string;
  tls: boolean;
  sni?: string;
  metadata: Record<string, unknown>;
}

export type Predicate = (r: RbacRequest) => boolean;

function cidr(m: Msg | undefined, path: string, errors: FieldError[]): (ip: string) => boolean {
  const addr = String(m?.['address_prefix'] ?? '');
  const family = isIP(addr);
  if (!family) {
    errors.push({ path: `${path}.address_prefix`, message: `"${addr}" is not an IP address` });
    return () => false;
  }
  const rawLen = m?.['prefix_len'];
  const len =
    rawLen === undefined || rawLen === null
      ? family === 4
        ? 32
        : 128
      : Number(typeof rawLen === 'object' ? rawLen.value : rawLen);
  if (!Number.isInteger(len) || len < 0 || len > (family === 4 ? 32 : 128)) {
    errors.push({ path: `${path}.prefix_len`, message: 'prefix length out of range' });
    return () => false;
  }
  const list = new BlockList();
  const type = family === 4 ? 'ipv4' : 'ipv6';
  list.addSubnet(addr, len, type);
  return (ip) => {
    const s = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    const f = isIP(s);
    return f !== 0 && list.check(s, f === 4 ? 'ipv4' : 'ipv6');
  };
}

function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

type ValuePredicate = (v: unknown) => boolean;

/** envoy.type.matcher.v3.ValueMatcher */
function valueMatcher(m: Msg | undefined, path: string, errors: FieldError[]): ValuePredicate {
  if (!m) {
    errors.push({ path, message: 'value matcher is required' });
    return () => false;
  }
  if (m['string_match']) {
    const p = compileStringMatcher(m['string_match'], `${path}.string_match`, errors);
    return (v) => typeof v === 'string' && p(v);
  }
  if (m['bool_match'] !== undefined) return (v) => v === m['bool_match'];
  if (m['present_match'] !== undefined)
    return (v) => (v !== undefined && v !== null) === (m['present_match'] !== false);
  if (m['null_match'] !== undefined) return (v) => v === null || v === undefined;
  if (m['double_match']) {
    const d = m['double_match'];
    if (d['exact'] !== undefined) return (v) => typeof v === 'number' && v === Number(d['exact']);
    if (d['range'])
      return (v) => typeof v === 'number' && v >= Number(d['range']['start']) && v < Number(d['range']['end']);
  }
  if (m['list_match']) {
    const inner = valueMatcher(m['list_match']['one_of'], `${path}.list_match.one_of`, errors);
    // A scalar claim counts as a one-element list (Istio's authn filter lists claims).
    return (v) => (Array.isArray(v) ? v.some(inner) : inner(v));
  }
  if (m['or_match']) {
    const list = ((m['or_match']['value_matchers'] as Msg[]) ?? []).map((x, i) =>
      valueMatcher(x, `${path}.or_match.value_matchers[${i}]`, errors),
    );
    return (v) => list.some((p) => p(v));
  }
  errors.push({ path, message: 'unsupported value matcher' });
  return () => false;
}

/** envoy.type.matcher.v3.MetadataMatcher over the stream's dynamic metadata. */
function metadataMatcher(m: Msg, path: string, errors: FieldError[]): Predicate {
  const filter = String(m['filter'] ?? '');
  const keys = ((m['path'] as Msg[] | undefined) ?? []).map((s) => String(s['key']));
  if (!filter || keys.length === 0) errors.push({ path, message: 'metadata matcher needs filter and path' });
  const value = valueMatcher(m['value'], `${path}.value`, errors);
  const invert = m['invert'] === true;
  return (r) => {
    let v: unknown = r.metadata[filter];
    for (const k of keys)
      v = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
    return value(v) !== invert;
  };
}

function pathMatcher(m: Msg | undefined, path: string, errors: FieldError[]): Predicate {
  const p = compileStringMatcher(m?.['path'], `${path}.path`, errors);
  return (r) => p(r.path);
}

export function compilePermission(m: Msg | undefined, path: string, errors: FieldError[]): Predicate {
  if (!m) {
    errors.push({ path, message: 'permission is required' });
    return () => false;
  }
  if (m['any'] === true) return () => true;
  if (m['and_rules']) {
    const list = ((m['and_rules']['rules'] as Msg[]) ?? []).map((x, i) =>
      compilePermission(x, `${path}.and_rules.rules[${i}]`, errors),
    );
    return (r) => list.every((p) => p(r));
  }
  if (m['or_rules']) {
    const list = ((m['or_rules']['rules'] as Msg[]) ?? []).map((x, i) =>
      compilePermission(x, `${path}.or_rules.rules[${i}]`, errors),
    );
    return (r) => list.some((p) => p(r));
  }
  if (m['not_rule']) {
    const inner = compilePermission(m['not_rule'], `${path}.not_rule`, errors);
    return (r) => !inner(r);
  }
  if (m['header']) {
    const h = compileHeaderMatcher(m['header'], `${path}.header`, errors);
    return (r) => h(r.get);
  }
  if (m['url_path']) return pathMatcher(m['url_path'], `${path}.url_path`, errors);
  if (m['destination_ip']) {
    const c = cidr(m['destination_ip'], `${path}.destination_ip`, errors);
    return (r) => c(r.destinationIp);
  }
  if (m['destination_port'] !== undefined) {
    const port = Number(m['destination_port']);
    return (r) => r.destinationPort === port;
  }
  if (m['destination_port_range']) {
    const start = Number(m['destination_port_range']['start']);
    const end = Number(m['destination_port_range']['end']);
    return (r) => r.destinationPort >= start && r.destinationPort < end;
  }
  if (m['metadata']) return metadataMatcher(m['metadata'], `${path}.metadata`, errors);
  if (m['requested_server_name']) {
    const p = compileStringMatcher(m['requested_server_name'], `${path}.requested_server_name`, errors);
    return (r) => p(r.sni ?? '');
  }
  errors.push({ path, message: 'unsupported permission rule' });
  return () => false;
}

export function compilePrincipal(m: Msg | undefined, path: string, errors: FieldError[]): Predicate {
  if (!m) {
    errors.push({ path, message: 'principal is required' });
    return () => false;
  }
  if (m['any'] === true) return () => true;
  if (m['and_ids']) {
    const list = ((m['and_ids']['ids'] as Msg[]) ?? []).map((x, i) =>
      compilePrincipal(x, `${path}.and_ids.ids[${i}]`, errors),
    );
    return (r) => list.every((p) => p(r));
  }
  if (m['or_ids']) {
    const list = ((m['or_ids']['ids'] as Msg[]) ?? []).map((x, i) =>
      compilePrincipal(x, `${path}.or_ids.ids[${i}]`, errors),
    );
    return (r) => list.some((p) => p(r));
  }
  if (m['not_id']) {
    const inner = compilePrincipal(m['not_id'], `${path}.not_id`, errors);
    return (r) => !inner(r);
  }
  if (m['authenticated']) {
    const pn = m['authenticated']['principal_name'];
    if (!pn) return (r) => r.tls && r.peerPrincipal !== undefined;
    const p = compileStringMatcher(pn, `${path}.authenticated.principal_name`, errors);
    // A SAN with a control character (e.g. an embedded NUL) never matches.
    return (r) => r.peerPrincipal !== undefined && !hasControlChar(r.peerPrincipal) && p(r.peerPrincipal);
  }
  for (const key of ['source_ip', 'direct_remote_ip', 'remote_ip'] as const) {
    if (m[key]) {
      const c = cidr(m[key], `${path}.${key}`, errors);
      return (r) => c(r.sourceIp);
    }
  }
  if (m['header']) {
    const h = compileHeaderMatcher(m['header'], `${path}.header`, errors);
    return (r) => h(r.get);
  }
  if (m['url_path']) return pathMatcher(m['url_path'], `${path}.url_path`, errors);
  if (m['metadata']) return metadataMatcher(m['metadata'], `${path}.metadata`, errors);
  errors.push({ path, message: 'unsupported principal' });
  return () => false;
}
