/**
 * `security.istio.io` AuthorizationPolicy → Envoy RBAC filters. One RBAC
 * filter per action, DENY before ALLOW (Istio's evaluation order); no ALLOW
 * policy → no ALLOW filter (allow); an ALLOW policy without rules matches
 * nothing, so it denies. Each rule becomes a policy
 * `ns[<ns>]-policy[<name>]-rule[<i>]`: `from` sources → principals, `to`
 * operations → permissions, `when` conditions to whichever side their key is
 * about. Hosts compare case-insensitively; methods upper-case.
 */
import type {
  AuthorizationPolicySpec,
  AuthzCondition,
  AuthzOperation,
  AuthzRule,
  AuthzSource,
} from '@tsmesh/mesh-config';
import { appliesTo, oldestFirst, type SecurityConfigs, type SecurityObject, type WorkloadInfo } from './inputs';
import type { Msg } from './mtls';
import { cidrRange, istioStringMatch, namespaceMatch, spiffeMatch } from './strings';

export const RBAC = 'envoy.filters.http.rbac';
const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
export const AUTHN_METADATA = 'istio_authn';

const orIds = (ids: Msg[]): Msg => (ids.length === 1 ? ids[0] : { or_ids: { ids } });
const orRules = (rules: Msg[]): Msg => (rules.length === 1 ? rules[0] : { or_rules: { rules } });
const notId = (m: Msg): Msg => ({ not_id: m });
const notRule = (m: Msg): Msg => ({ not_rule: m });

function authnMetadata(keys: string[], value: Msg): Msg {
  return { metadata: { filter: AUTHN_METADATA, path: keys.map((key) => ({ key })), value } };
}

const requestPrincipal = (v: string): Msg =>
  authnMetadata(['request.auth.principal'], { string_match: istioStringMatch(v) });
const peerPrincipal = (v: string): Msg => ({ authenticated: { principal_name: spiffeMatch(v) } });
const peerNamespace = (v: string): Msg => ({ authenticated: { principal_name: namespaceMatch(v) } });

function hostMatchers(h: string): Msg[] {
  // Host header may carry a port; compare case-insensitively (CVE-2021-39155).
  const base = { header: { name: ':authority', string_match: istioStringMatch(h.toLowerCase(), true) } };
  return h.startsWith('*') || h.endsWith('*')
    ? [base]
    : [base, { header: { name: ':authority', string_match: { prefix: `${h.toLowerCase()}:`, ignore_case: true } } }];
}

const pathPerm = (p: string): Msg => ({ url_path: { path: istioStringMatch(p) } });
const methodPerm = (m: string): Msg => ({
  header: { name: ':method', string_match: istioStringMatch(m.toUpperCase()) },
});
const portPerm = (p: string | number): Msg => ({ destination_port: Number(p) });

/** Source side of one `from` entry: every listed field must hold (AND), values of a field are OR. */
function sourcePrincipal(s: AuthzSource): Msg {
  const ids: Msg[] = [];
  const field = (vals: string[] | undefined, fn: (v: string) => Msg, negate = false) => {
    if (!vals?.length) return;
    const m = orIds(vals.map(fn));
    ids.push(negate ? notId(m) : m);
  };
  field(s.principals, peerPrincipal);
  field(s.notPrincipals, peerPrincipal, true);
  field(s.requestPrincipals, requestPrincipal);
  field(s.notRequestPrincipals, requestPrincipal, true);
  field(s.namespaces, peerNamespace);
  field(s.notNamespaces, peerNamespace, true);
  field(s.ipBlocks, (b) => ({ direct_remote_ip: cidrRange(b) }));
  field(s.notIpBlocks, (b) => ({ direct_remote_ip: cidrRange(b) }), true);
  field(s.remoteIpBlocks, (b) => ({ remote_ip: cidrRange(b) }));
  field(s.notRemoteIpBlocks, (b) => ({ remote_ip: cidrRange(b) }), true);
  return ids.length === 0 ? { any: true } : { and_ids: { ids } };
}

function operationPermission(o: AuthzOperation): Msg {
  const rules: Msg[] = [];
  const field = (vals: string[] | undefined, fn: (v: string) => Msg[], negate = false) => {
    if (!vals?.length) return;
    const m = orRules(vals.flatMap(fn));
    rules.push(negate ? notRule(m) : m);
  };
  field(o.hosts, hostMatchers);
  field(o.notHosts, hostMatchers, true);
  field(o.methods, (m) => [methodPerm(m)]);
  field(o.notMethods, (m) => [methodPerm(m)], true);
  field(o.paths, (p) => [pathPerm(p)]);
  field(o.notPaths, (p) => [pathPerm(p)], true);
  field(o.ports, (p) => [portPerm(p)]);
  field(o.notPorts, (p) => [portPerm(p)], true);
  return rules.length === 0 ? { any: true } : { and_rules: { rules } };
}

const BRACKET = /^([a-z.]+)\[(.+)\]$/;

/** A `when` condition: principal-side (source/request.auth) or permission-side (destination/request headers). */
export function conditionMatcher(key: string, value: string): { side: 'principal' | 'permission'; m: Msg } | null {
  const b = BRACKET.exec(key);
  if (b?.[1] === 'request.auth.claims') {
    const path = ['request.auth.claims', ...b[2].split('][')];
    return {
      side: 'principal',
      m: authnMetadata(path, { list_match: { one_of: { string_match: istioStringMatch(value) } } }),
    };
  }
  if (b?.[1] === 'request.headers')
    return { side: 'principal', m: { header: { name: b[2].toLowerCase(), string_match: istioStringMatch(value) } } };
  switch (key) {
    case 'source.ip':
      return { side: 'principal', m: { direct_remote_ip: cidrRange(value) } };
    case 'remote.ip':
      return { side: 'principal', m: { remote_ip: cidrRange(value) } };
    case 'source.namespace':
      return { side: 'principal', m: peerNamespace(value) };
    case 'source.principal':
      return { side: 'principal', m: peerPrincipal(value) };
    case 'request.auth.principal':
      return { side: 'principal', m: requestPrincipal(value) };
    case 'request.auth.audiences':
      return {
        side: 'principal',
        m: authnMetadata(['request.auth.audiences'], { string_match: istioStringMatch(value) }),
      };
    case 'request.auth.presenter':
      return {
        side: 'principal',
        m: authnMetadata(['request.auth.presenter'], { string_match: istioStringMatch(value) }),
      };
    case 'destination.ip':
      return { side: 'permission', m: { destination_ip: cidrRange(value) } };
    case 'destination.port':
      return { side: 'permission', m: portPerm(value) };
    case 'connection.sni':
      return { side: 'permission', m: { requested_server_name: istioStringMatch(value) } };
    default:
      return null;
  }
}

function conditions(when: AuthzCondition[] | undefined): {
  principals: Msg[];
  permissions: Msg[];
  unsupported: string[];
} {
  const out = { principals: [] as Msg[], permissions: [] as Msg[], unsupported: [] as string[] };
  for (const c of when ?? []) {
    for (const [vals, negate] of [
      [c.values, false],
      [c.notValues, true],
    ] as const) {
      if (!vals?.length) continue;
      const ms = vals.map((v) => conditionMatcher(c.key, v));
      if (ms.some((m) => m === null)) {
        out.unsupported.push(c.key);
        continue;
      }
      const side = ms[0]!.side;
      const list = ms.map((m) => m!.m);
      if (side === 'principal') out.principals.push(negate ? notId(orIds(list)) : orIds(list));
      else out.permissions.push(negate ? notRule(orRules(list)) : orRules(list));
    }
  }
  return out;
}

/** One AuthorizationPolicy rule → one RBAC policy, or null when it uses a key tsmesh cannot express. */
export function rulePolicy(rule: AuthzRule): { policy: Msg; unsupported: string[] } {
  const cond = conditions(rule.when);
  const from = rule.from?.length ? orIds(rule.from.map((f) => sourcePrincipal(f.source ?? {}))) : { any: true };
  const to = rule.to?.length ? orRules(rule.to.map((t) => operationPermission(t.operation ?? {}))) : { any: true };
  const principals = cond.principals.length ? [{ and_ids: { ids: [from, ...cond.principals] } }] : [from];
  const permissions = cond.permissions.length ? [{ and_rules: { rules: [to, ...cond.permissions] } }] : [to];
  return { policy: { permissions, principals }, unsupported: cond.unsupported };
}

export interface AuthzBuild {
  filters: Msg[];
  /** Human-readable notes on what was skipped (logged by Pilot). */
  warnings: string[];
}

/** RBAC filters for the AuthorizationPolicies selecting this workload: DENY first, then ALLOW. */
export function buildAuthorizationFilters(w: WorkloadInfo, c: SecurityConfigs): AuthzBuild {
  const applicable = oldestFirst(c.authorizationPolicies.filter((p) => appliesTo(p, w, c)));
  const warnings: string[] = [];
  const byAction = (action: 'ALLOW' | 'DENY') => {
    const policies: Record<string, Msg> = {};
    for (const p of applicable.filter(
      (x: SecurityObject<AuthorizationPolicySpec>) => (x.spec.action ?? 'ALLOW') === action,
    )) {
      (p.spec.rules ?? []).forEach((rule, i) => {
        const { policy, unsupported } = rulePolicy(rule);
        const name = `ns[${p.namespace}]-policy[${p.name}]-rule[${i}]`;
        if (unsupported.length) {
          // Fail closed as Istio does: an ALLOW rule it cannot express is dropped; a DENY rule keeps
          // its other matchers without the condition, so it denies more, never less.
          warnings.push(`${name}: unsupported condition keys ${unsupported.join(', ')}`);
          if (action === 'ALLOW') return;
        }
        policies[name] = policy;
      });
    }
    return policies;
  };
  const filters: Msg[] = [];
  const deny = byAction('DENY');
  if (Object.keys(deny).length)
    filters.push({ name: RBAC, typed_config: { '@type': RBAC_TYPE, rules: { action: 'DENY', policies: deny } } });
  const hasAllow = applicable.some((p) => (p.spec.action ?? 'ALLOW') === 'ALLOW');
  if (hasAllow)
    filters.push({
      name: RBAC,
      typed_config: { '@type': RBAC_TYPE, rules: { action: 'ALLOW', policies: byAction('ALLOW') } },
    });
  for (const p of applicable)
    if (p.spec.action === 'CUSTOM' || p.spec.action === 'AUDIT')
      warnings.push(`AuthorizationPolicy ${p.namespace}/${p.name}: action ${p.spec.action} is not enforced by tsmesh`);
  return { filters, warnings };
}
