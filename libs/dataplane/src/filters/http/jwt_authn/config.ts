/**
 * Decodes Envoy's `envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication`
 * into an immutable compiled form: providers (issuer, audiences, local_jwks,
 * from_headers/from_params, forward, payload_in_metadata, forward_payload_header,
 * clock_skew_seconds), rules (RouteMatch → JwtRequirement) and requirement_map.
 * `remote_jwks` is refused: Pilot fetches JWKS and pushes them inline, so the
 * proxy never fetches keys per request.
 */
import type { FieldError } from '@tsmesh/core';
import type { Msg } from '../../../engine/types';
import { compileHeaderMatcher, compileRegex, type HeaderGetter } from '../../../http/matchers';
import { compileJwks, type VerificationKey } from './keys';
import { readDataSource } from '../../../tls/context';

export const JWT_AUTHN_NAME = 'envoy.filters.http.jwt_authn';
export const JWT_AUTHN_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
export const JWT_AUTHN_PER_ROUTE_TYPE_URL =
  'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig';

export interface TokenLocation {
  header?: string;
  /** `value_prefix`, e.g. `Bearer `. */
  prefix?: string;
  param?: string;
  cookie?: string;
}

export interface JwtProvider {
  name: string;
  issuer: string;
  audiences: readonly string[];
  /** `local_jwks`, compiled once per config. */
  keys: readonly VerificationKey[];
  forward: boolean;
  locations: readonly TokenLocation[];
  payloadInMetadata?: string;
  forwardPayloadHeader?: string;
  /** `claim_to_headers`: copy a (top-level, string/number/bool) claim into a request header. */
  claimToHeaders: readonly { header: string; claim: string }[];
  skewSeconds: number;
}

export type Requirement =
  | { kind: 'provider'; provider: string; audiences?: readonly string[] }
  | { kind: 'any'; of: readonly Requirement[] }
  | { kind: 'all'; of: readonly Requirement[] }
  | { kind: 'allow_missing' }
  | { kind: 'allow_missing_or_failed' };

export interface JwtRule {
  match: (path: string, get: HeaderGetter) => boolean;
  /** null: no requirement (the rule exempts matching requests). */
  requires: Requirement | null;
}

export interface JwtAuthnConfig {
  providers: ReadonlyMap<string, JwtProvider>;
  rules: readonly JwtRule[];
  requirements: ReadonlyMap<string, Requirement>;
  bypassCorsPreflight: boolean;
  /** Every location of every provider (what `allow_missing` looks at). */
  allLocations: readonly TokenLocation[];
}

export interface JwtPerRoute {
  disabled: boolean;
  requirementName?: string;
}

/** Envoy's `kClockSkewInSecond`. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 60;

const DEFAULT_LOCATIONS: TokenLocation[] = [{ header: 'authorization', prefix: 'Bearer ' }, { param: 'access_token' }];

/** A DataSource the JWT provider needs: absent is fine (null), present but unreadable is an error. */
function dataSource(ds: Msg | undefined, path: string, errors: FieldError[]): string | null {
  if (!ds) return null;
  const before = errors.length;
  const text = readDataSource(ds, path, errors);
  if (text !== undefined) return text;
  if (errors.length === before)
    errors.push({ path, message: 'data source needs inline_string, inline_bytes or filename' });
  return null;
}

function compileProvider(name: string, p: Msg, path: string, errors: FieldError[]): JwtProvider {
  if (p['remote_jwks']) {
    errors.push({
      path: `${path}.remote_jwks`,
      message: 'remote_jwks is not supported: the control plane must inline the JWKS in local_jwks',
    });
  }
  const jwksText = dataSource(p['local_jwks'], `${path}.local_jwks`, errors);
  if (jwksText === null && !p['remote_jwks'])
    errors.push({ path: `${path}.local_jwks`, message: 'local_jwks is required' });
  const jwksErrors: string[] = [];
  const keys = jwksText === null ? [] : compileJwks(jwksText, jwksErrors);
  for (const m of jwksErrors) errors.push({ path: `${path}.local_jwks`, message: m });
  const locations: TokenLocation[] = [];
  for (const h of (p['from_headers'] as Msg[] | undefined) ?? []) {
    locations.push({
      header: String(h['name'] ?? '').toLowerCase(),
      prefix: typeof h['value_prefix'] === 'string' ? h['value_prefix'] : undefined,
    });
  }
  for (const q of (p['from_params'] as string[] | undefined) ?? []) locations.push({ param: String(q) });
  for (const c of (p['from_cookies'] as string[] | undefined) ?? []) locations.push({ cookie: String(c) });
  // uint32 in Envoy's proto: 0 (unset) means the 60 s default, as in Envoy's authenticator.
  const skew = Number(p['clock_skew_seconds'] ?? 0);
  if (!Number.isInteger(skew) || skew < 0) {
    errors.push({ path: `${path}.clock_skew_seconds`, message: 'must be a non-negative integer' });
  }
  return {
    name,
    issuer: typeof p['issuer'] === 'string' ? p['issuer'] : '',
    audiences: ((p['audiences'] as unknown[] | undefined) ?? []).map(String),
    keys,
    forward: p['forward'] === true,
    locations: locations.length ? locations : DEFAULT_LOCATIONS,
    payloadInMetadata:
      typeof p['payload_in_metadata'] === 'string' && p['payload_in_metadata'] ? p['payload_in_metadata'] : undefined,
    forwardPayloadHeader:
      typeof p['forward_payload_header'] === 'string' && p['forward_payload_header']
        ? p['forward_payload_header'].toLowerCase()
        : undefined,
    claimToHeaders: ((p['claim_to_headers'] as Msg[] | undefined) ?? []).map((c) => ({
      header: String(c['header_name'] ?? '').toLowerCase(),
      claim: String(c['claim_name'] ?? ''),
    })),
    skewSeconds: Number.isInteger(skew) && skew > 0 ? skew : DEFAULT_CLOCK_SKEW_SECONDS,
  };
}

export function compileRequirement(
  r: Msg | undefined,
  providers: ReadonlyMap<string, JwtProvider>,
  path: string,
  errors: FieldError[],
): Requirement | null {
  if (!r) return null;
  const known = (name: string, p: string) => {
    if (!providers.has(name)) errors.push({ path: p, message: `unknown provider "${name}"` });
  };
  if (typeof r['provider_name'] === 'string') {
    known(r['provider_name'], `${path}.provider_name`);
    return { kind: 'provider', provider: r['provider_name'] };
  }
  if (r['provider_and_audiences']) {
    const pa = r['provider_and_audiences'];
    known(String(pa['provider_name']), `${path}.provider_and_audiences.provider_name`);
    return {
      kind: 'provider',
      provider: String(pa['provider_name']),
      audiences: ((pa['audiences'] as unknown[]) ?? []).map(String),
    };
  }
  for (const kind of ['requires_any', 'requires_all'] as const) {
    if (r[kind]) {
      const list = (r[kind]['requirements'] as Msg[] | undefined) ?? [];
      if (list.length < 2)
        errors.push({ path: `${path}.${kind}.requirements`, message: 'needs at least 2 requirements' });
      const of = list
        .map((x, i) => compileRequirement(x, providers, `${path}.${kind}.requirements[${i}]`, errors))
        .filter((x): x is Requirement => x !== null);
      return { kind: kind === 'requires_any' ? 'any' : 'all', of };
    }
  }
  if (r['allow_missing'] !== undefined && r['allow_missing'] !== null) return { kind: 'allow_missing' };
  if (r['allow_missing_or_failed'] !== undefined && r['allow_missing_or_failed'] !== null)
    return { kind: 'allow_missing_or_failed' };
  if (typeof r['requirement_name'] === 'string') {
    errors.push({ path: `${path}.requirement_name`, message: 'requirement_name is only valid in per-route config' });
    return null;
  }
  return null;
}

/** envoy.config.route.v3.RouteMatch, on the path without query or fragment. */
function compileRouteMatch(
  m: Msg | undefined,
  path: string,
  errors: FieldError[],
): (p: string, get: HeaderGetter) => boolean {
  if (!m) return () => true;
  const cs =
    m['case_sensitive'] === undefined || m['case_sensitive'] === null
      ? true
      : (m['case_sensitive']?.value ?? m['case_sensitive']) !== false;
  const norm = (s: string) => (cs ? s : s.toLowerCase());
  let pathTest: (p: string) => boolean;
  if (typeof m['prefix'] === 'string') {
    const want = norm(m['prefix']);
    pathTest = (p) => norm(p).startsWith(want);
  } else if (typeof m['path'] === 'string') {
    const want = norm(m['path']);
    pathTest = (p) => norm(p) === want;
  } else if (typeof m['path_separated_prefix'] === 'string') {
    const want = norm(m['path_separated_prefix']);
    pathTest = (p) => norm(p) === want || norm(p).startsWith(`${want}/`);
  } else if (m['safe_regex']) {
    const re = compileRegex(m['safe_regex']['regex'], `${path}.safe_regex.regex`, errors);
    pathTest = (p) => re !== null && re.matches(p);
  } else {
    errors.push({ path, message: 'rule match needs prefix, path, path_separated_prefix or safe_regex' });
    pathTest = () => false;
  }
  const headers = ((m['headers'] as Msg[] | undefined) ?? []).map((h, i) =>
    compileHeaderMatcher(h, `${path}.headers[${i}]`, errors),
  );
  return (p, get) => pathTest(p) && headers.every((h) => h(get));
}

export function parseJwtAuthn(typed: Msg, path: string, errors: FieldError[]): JwtAuthnConfig {
  const providers = new Map<string, JwtProvider>();
  for (const [name, p] of Object.entries((typed['providers'] as Record<string, Msg> | undefined) ?? {})) {
    providers.set(name, compileProvider(name, p, `${path}.providers.${name}`, errors));
  }
  const rules = ((typed['rules'] as Msg[] | undefined) ?? []).map((r, i) => ({
    match: compileRouteMatch(r['match'], `${path}.rules[${i}].match`, errors),
    requires: compileRequirement(r['requires'], providers, `${path}.rules[${i}].requires`, errors),
  }));
  const requirements = new Map<string, Requirement>();
  for (const [name, r] of Object.entries((typed['requirement_map'] as Record<string, Msg> | undefined) ?? {})) {
    const req = compileRequirement(r, providers, `${path}.requirement_map.${name}`, errors);
    if (req) requirements.set(name, req);
  }
  const allLocations = [...providers.values()].flatMap((p) => p.locations);
  return { providers, rules, requirements, bypassCorsPreflight: typed['bypass_cors_preflight'] === true, allLocations };
}

export function parseJwtPerRoute(typed: Msg, path: string, errors: FieldError[]): JwtPerRoute {
  if (typed['disabled'] === true) return { disabled: true };
  if (typeof typed['requirement_name'] === 'string')
    return { disabled: false, requirementName: typed['requirement_name'] };
  errors.push({ path, message: 'per-route config needs disabled or requirement_name' });
  return { disabled: false };
}
