/**
 * Istio 1.0 RBAC (`rbac.istio.io/v1alpha1`) → one Envoy RBAC ALLOW filter.
 * RbacConfig/ClusterRbacConfig `default` decides whether a service is enforced
 * (OFF, ON, ON_WITH_INCLUSION, ON_WITH_EXCLUSION); once enforced it is
 * default-deny. Each ServiceRole in the workload's namespace that names one of
 * its services and has bindings becomes a policy: role rules → permissions
 * (paths, methods, constraints), binding subjects → principals (user,
 * properties). PERMISSIVE bindings go to shadow rules.
 */
import type { AccessRule, RbacConfigSpec, RbacSubject } from '@tsmesh/mesh-config';
import { type SecurityConfigs, type WorkloadInfo } from './inputs';
import { RBAC, conditionMatcher } from './authz-policy';
import type { Msg } from './mtls';
import { istioStringMatch, istioValueMatches, spiffeMatch } from './strings';

const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';

/** Whether RBAC is on for a service (`hostname`) in `namespace`. */
export function rbacEnforced(cfg: RbacConfigSpec | undefined, hostname: string, namespace: string): boolean {
  switch (cfg?.mode) {
    case 'ON':
      return true;
    case 'ON_WITH_INCLUSION':
      return !!(cfg.inclusion?.namespaces?.includes(namespace) || cfg.inclusion?.services?.includes(hostname));
    case 'ON_WITH_EXCLUSION':
      return !(cfg.exclusion?.namespaces?.includes(namespace) || cfg.exclusion?.services?.includes(hostname));
    default:
      return false;
  }
}

const orRules = (rules: Msg[]): Msg => (rules.length === 1 ? rules[0] : { or_rules: { rules } });

function accessRulePermission(r: AccessRule, w: WorkloadInfo): Msg | null {
  const rules: Msg[] = [];
  const paths = (r.paths ?? []).filter((p) => p !== '*');
  if (paths.length) rules.push(orRules(paths.map((p) => ({ url_path: { path: istioStringMatch(p) } }))));
  const methods = (r.methods ?? []).filter((m) => m !== '*');
  if (methods.length)
    rules.push(
      orRules(methods.map((m) => ({ header: { name: ':method', string_match: istioStringMatch(m.toUpperCase()) } }))),
    );
  if (r.notPaths?.length)
    rules.push({ not_rule: orRules(r.notPaths.map((p) => ({ url_path: { path: istioStringMatch(p) } }))) });
  if (r.notMethods?.length)
    rules.push({
      not_rule: orRules(
        r.notMethods.map((m) => ({ header: { name: ':method', string_match: { exact: m.toUpperCase() } } })),
      ),
    });
  if (r.ports?.length) rules.push(orRules(r.ports.map((p) => ({ destination_port: p }))));
  for (const c of r.constraints ?? []) {
    const label = /^destination\.labels\[(.+)\]$/.exec(c.key);
    if (label) {
      // Decided here: the proxy fronts one workload whose labels Pilot knows.
      if (!c.values.some((v) => istioValueMatches(v, w.labels[label[1]] ?? ''))) return null;
      continue;
    }
    if (c.key === 'destination.namespace' || c.key === 'destination.name') {
      const actual = c.key === 'destination.namespace' ? w.namespace : (w.services[0]?.name ?? '');
      if (!c.values.some((v) => istioValueMatches(v, actual))) return null;
      continue;
    }
    const ms = c.values.map((v) => conditionMatcher(c.key, v)).filter((m): m is NonNullable<typeof m> => m !== null);
    if (ms.length === 0) return null;
    rules.push(ms.length === 1 ? ms[0].m : { or_rules: { rules: ms.map((m) => m.m) } });
  }
  return rules.length === 0 ? { any: true } : { and_rules: { rules } };
}

function subjectPrincipal(s: RbacSubject): Msg | null {
  const ids: Msg[] = [];
  if (s.user && s.user !== '*') ids.push({ authenticated: { principal_name: spiffeMatch(s.user) } });
  if (s.group && s.group !== '*') return null; // groups were never populated by 1.0's authn; nothing can match
  for (const [key, value] of Object.entries(s.properties ?? {})) {
    const m =
      key === 'source.user'
        ? { side: 'principal', m: { authenticated: { principal_name: spiffeMatch(value) } } }
        : conditionMatcher(key, value);
    if (!m) return null;
    ids.push(m.m);
  }
  return ids.length === 0 ? { any: true } : ids.length === 1 ? ids[0] : { and_ids: { ids } };
}

function servicesMatch(patterns: readonly string[], w: WorkloadInfo): boolean {
  return w.services.some((s) => patterns.some((p) => istioValueMatches(p, s.hostname) || istioValueMatches(p, s.name)));
}

/** The 1.0 RBAC filter for this workload, or undefined when RBAC is off for all its services. */
export function buildRbacV1alpha1Filter(w: WorkloadInfo, c: SecurityConfigs): Msg | undefined {
  if (!w.services.some((s) => rbacEnforced(c.rbacConfig, s.hostname, w.namespace))) return undefined;
  const enforced: Record<string, Msg> = {};
  const shadow: Record<string, Msg> = {};
  for (const role of c.serviceRoles.filter((r) => r.namespace === w.namespace)) {
    const perms = (role.spec.rules ?? [])
      .filter((r) => servicesMatch(r.services ?? [], w))
      .map((r) => accessRulePermission(r, w))
      .filter((p): p is Msg => p !== null);
    if (perms.length === 0) continue;
    const bindings = c.serviceRoleBindings.filter(
      (b) => b.namespace === w.namespace && (b.spec.roleRef?.name ?? b.spec.role?.replace(/^\//, '')) === role.name,
    );
    for (const mode of ['ENFORCED', 'PERMISSIVE'] as const) {
      const principals = bindings
        .filter((b) => (b.spec.mode ?? 'ENFORCED') === mode)
        .flatMap((b) => b.spec.subjects ?? [])
        .map(subjectPrincipal)
        .filter((p): p is Msg => p !== null);
      if (principals.length === 0) continue;
      (mode === 'ENFORCED' ? enforced : shadow)[role.name] = { permissions: perms, principals };
    }
  }
  const typed: Msg = { '@type': RBAC_TYPE, rules: { action: 'ALLOW', policies: enforced } };
  if (Object.keys(shadow).length) typed['shadow_rules'] = { action: 'ALLOW', policies: { ...enforced, ...shadow } };
  return { name: RBAC, typed_config: typed };
}
