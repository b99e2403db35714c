/**
 * Origin authentication → `envoy.filters.http.jwt_authn`. From v1beta1
 * RequestAuthentication `jwtRules` (an invalid token is refused, a missing one
 * passes with no identity: `requires_any [providers…, allow_missing]`) and from
 * 1.0 Policy `origins` (a token is required unless `originIsOptional`). JWKS
 * are inlined: `jwks` as written, `jwksUri` from the control plane's cache; a
 * JWKS not yet fetched becomes an empty key set, so tokens fail closed.
 */
import type { JWTRule, Jwt } from '@tsmesh/mesh-config';
import { effectivePolicy, type Msg } from './mtls';
import { appliesTo, oldestFirst, type SecurityConfigs, type WorkloadInfo } from './inputs';

export const JWT_AUTHN = 'envoy.filters.http.jwt_authn';
const JWT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
export const EMPTY_JWKS = '{"keys":[]}';

interface ProviderInput {
  issuer: string;
  audiences?: string[];
  jwks?: string;
  jwksUri?: string;
  headers?: { name: string; prefix?: string }[];
  params?: string[];
  forward?: boolean;
  outputPayloadToHeader?: string;
  cookies?: string[];
  claimToHeaders?: { header: string; claim: string }[];
}

function provider(p: ProviderInput, c: SecurityConfigs): Msg {
  const jwks = p.jwks ?? (p.jwksUri ? c.jwksFor?.(p.jwksUri) : undefined) ?? EMPTY_JWKS;
  const out: Msg = {
    issuer: p.issuer,
    local_jwks: { inline_string: jwks },
    payload_in_metadata: p.issuer,
    forward: p.forward === true,
  };
  if (p.audiences?.length) out['audiences'] = p.audiences;
  if (p.headers?.length)
    out['from_headers'] = p.headers.map((h) => ({ name: h.name, ...(h.prefix ? { value_prefix: h.prefix } : {}) }));
  if (p.params?.length) out['from_params'] = p.params;
  if (p.outputPayloadToHeader) out['forward_payload_header'] = p.outputPayloadToHeader;
  if (p.cookies?.length) out['from_cookies'] = p.cookies;
  if (p.claimToHeaders?.length)
    out['claim_to_headers'] = p.claimToHeaders.map((c) => ({ header_name: c.header, claim_name: c.claim }));
  return out;
}

const fromRule = (r: JWTRule): ProviderInput => ({
  issuer: r.issuer,
  audiences: r.audiences,
  jwks: r.jwks,
  jwksUri: r.jwksUri,
  headers: r.fromHeaders,
  params: r.fromParams,
  forward: r.forwardOriginalToken,
  outputPayloadToHeader: r.outputPayloadToHeader,
  cookies: r.fromCookies,
  claimToHeaders: r.outputClaimToHeaders,
});

const fromOrigin = (j: Jwt): ProviderInput => ({
  issuer: j.issuer,
  audiences: j.audiences,
  jwks: j.jwks,
  jwksUri: j.jwksUri,
  headers: j.jwtHeaders?.map((name) => ({ name })),
  params: j.jwtParams,
  // 1.0 forwarded the original token to the app.
  forward: true,
});

type StringMatch = { exact?: string; prefix?: string; suffix?: string; regex?: string };

/** istio.authentication.v1alpha1.StringMatch → the path part of an Envoy RouteMatch. */
function routeMatch(m: StringMatch): Msg | null {
  if (typeof m.exact === 'string') return { path: m.exact };
  if (typeof m.prefix === 'string') return { prefix: m.prefix };
  if (typeof m.suffix === 'string')
    return { safe_regex: { regex: `.*${m.suffix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` } };
  if (typeof m.regex === 'string') return { safe_regex: { regex: m.regex } };
  return null;
}

/**
 * 1.0 `triggerRules` of a single origin: validate only requests that match none of
 * `excludedPaths` and (when given) one of `includedPaths`. Envoy's rules are first-match, so
 * exclusions come first with no requirement, then inclusions (or everything) with it.
 */
function triggerRuleMatches(rules: NonNullable<Jwt['triggerRules']>, requires: Msg): Msg[] | null {
  if (rules.length !== 1) return null;
  const r = rules[0];
  const excluded = ((r.excludedPaths ?? []) as StringMatch[]).map(routeMatch);
  const included = ((r.includedPaths ?? []) as StringMatch[]).map(routeMatch);
  if ([...excluded, ...included].some((m) => m === null)) return null;
  return [
    ...excluded.map((match) => ({ match })),
    ...(included.length ? included.map((match) => ({ match, requires })) : [{ match: { prefix: '/' }, requires }]),
  ];
}

function filter(
  providers: ProviderInput[],
  c: SecurityConfigs,
  allowMissing: boolean,
  triggerRules?: Jwt['triggerRules'],
): Msg | undefined {
  if (providers.length === 0) return undefined;
  const named: Record<string, Msg> = {};
  const names: string[] = [];
  providers.forEach((p, i) => {
    const name = `origins-${i}`;
    named[name] = provider(p, c);
    names.push(name);
  });
  const reqs: Msg[] = names.map((n) => ({ provider_name: n }));
  if (allowMissing) reqs.push({ allow_missing: {} });
  const requires = reqs.length === 1 ? reqs[0] : { requires_any: { requirements: reqs } };
  const rules = (triggerRules?.length ? triggerRuleMatches(triggerRules, requires) : null) ?? [
    { match: { prefix: '/' }, requires },
  ];
  return {
    name: JWT_AUTHN,
    typed_config: { '@type': JWT_TYPE, providers: named, rules },
  };
}

/** The jwt_authn filter for a workload port, or undefined when no origin authentication applies. */
export function buildJwtFilter(w: WorkloadInfo, c: SecurityConfigs, port: number): Msg | undefined {
  const ras = oldestFirst(c.requestAuthentications.filter((r) => appliesTo(r, w, c)));
  if (ras.length > 0)
    return filter(
      ras.flatMap((r) => (r.spec.jwtRules ?? []).map(fromRule)),
      c,
      true,
    );
  const policy = effectivePolicy(w, c, port);
  const origins = policy?.spec.origins ?? [];
  // Trigger rules are honoured for a single origin (the common case); with several origins they
  // cannot be expressed as first-match rules and every request is validated.
  return filter(
    origins.map((o) => fromOrigin(o.jwt)),
    c,
    policy?.spec.originIsOptional === true,
    origins.length === 1 ? origins[0].jwt.triggerRules : undefined,
  );
}

/** Every jwksUri the configs reference (the JWKS cache keeps these fresh). */
export function referencedJwksUris(c: SecurityConfigs): string[] {
  const uris = new Set<string>();
  for (const r of c.requestAuthentications)
    for (const j of r.spec.jwtRules ?? []) if (j.jwksUri && !j.jwks) uris.add(j.jwksUri);
  for (const p of [...c.policies, ...c.meshPolicies])
    for (const o of p.spec.origins ?? []) if (o.jwt?.jwksUri && !o.jwt.jwks) uris.add(o.jwt.jwksUri);
  return [...uris].sort();
}
