import type { Counter, StatsStore } from '../../../stats/store';

/** Envoy's RBAC stats: `http.<stat_prefix>.rbac.{allowed,denied,shadow_allowed,shadow_denied}`. */
export interface RbacStats {
  allowed: Counter;
  denied: Counter;
  shadowAllowed: Counter;
  shadowDenied: Counter;
}

export function rbacStats(store: StatsStore, statPrefix: string, shadowPrefix = ''): RbacStats {
  const p = `http.${statPrefix}.rbac.`;
  return {
    allowed: store.counter(`${p}allowed`),
    denied: store.counter(`${p}denied`),
    shadowAllowed: store.counter(`${p}${shadowPrefix}shadow_allowed`),
    shadowDenied: store.counter(`${p}${shadowPrefix}shadow_denied`),
  };
}
