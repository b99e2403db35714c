/**
 * Decodes Envoy's `envoy.extensions.filters.http.rbac.v3.RBAC`: `rules`
 * (action ALLOW | DENY | LOG, named policies of permissions × principals),
 * optional `shadow_rules` (evaluated and counted, never enforced) and
 * `shadow_rules_stat_prefix`. Per-route `RBACPerRoute{rbac}` overrides it.
 */
import type { FieldError } from '@tsmesh/core';
import { enumName, type Msg } from '../../../engine/types';
import { compilePermission, compilePrincipal, type Predicate } from './matchers';

export const RBAC_NAME = 'envoy.filters.http.rbac';
export const RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
export const RBAC_PER_ROUTE_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';

export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';

export interface CompiledPolicy {
  name: string;
  permission: Predicate;
  principal: Predicate;
}

export interface CompiledRules {
  action: RbacAction;
  policies: readonly CompiledPolicy[];
}

export interface RbacConfig {
  /** null: no enforcement (only shadow). */
  rules: CompiledRules | null;
  shadow: CompiledRules | null;
  shadowStatPrefix: string;
}

export function compileRules(m: Msg | undefined, path: string, errors: FieldError[]): CompiledRules | null {
  if (!m) return null;
  const action = enumName(m['action'], ['ALLOW', 'DENY', 'LOG'], 'ALLOW') as RbacAction;
  if (!['ALLOW', 'DENY', 'LOG'].includes(action))
    errors.push({ path: `${path}.action`, message: `unknown action ${action}` });
  const policies = Object.entries((m['policies'] as Record<string, Msg> | undefined) ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, p]) => {
      const pp = `${path}.policies.${name}`;
      const perms = ((p['permissions'] as Msg[]) ?? []).map((x, i) =>
        compilePermission(x, `${pp}.permissions[${i}]`, errors),
      );
      const princ = ((p['principals'] as Msg[]) ?? []).map((x, i) =>
        compilePrincipal(x, `${pp}.principals[${i}]`, errors),
      );
      if (perms.length === 0)
        errors.push({ path: `${pp}.permissions`, message: 'at least one permission is required' });
      if (princ.length === 0) errors.push({ path: `${pp}.principals`, message: 'at least one principal is required' });
      // Envoy: a policy matches when any permission and any principal match.
      return {
        name,
        permission: (r) => perms.some((x) => x(r)),
        principal: (r) => princ.some((x) => x(r)),
      } as CompiledPolicy;
    });
  return { action, policies };
}

export function parseRbac(typed: Msg, path: string, errors: FieldError[]): RbacConfig {
  return {
    rules: compileRules(typed['rules'], `${path}.rules`, errors),
    shadow: compileRules(typed['shadow_rules'], `${path}.shadow_rules`, errors),
    shadowStatPrefix: typeof typed['shadow_rules_stat_prefix'] === 'string' ? typed['shadow_rules_stat_prefix'] : '',
  };
}

/** RBACPerRoute `{rbac: RBAC}`; an empty `rbac` disables the filter on that route. */
export function parseRbacPerRoute(typed: Msg, path: string, errors: FieldError[]): RbacConfig | null {
  if (!typed['rbac']) return null;
  return parseRbac(typed['rbac'], `${path}.rbac`, errors);
}
