import type { Counter, StatsStore } from '../../../stats/store';

/** Envoy's jwt_authn stats: `http.<stat_prefix>.jwt_authn.{allowed,denied,cors_preflight_bypassed}`. */
export interface JwtAuthnStats {
  allowed: Counter;
  denied: Counter;
  corsPreflightBypassed: Counter;
}

export function jwtAuthnStats(store: StatsStore, statPrefix: string): JwtAuthnStats {
  const p = `http.${statPrefix}.jwt_authn.`;
  return {
    allowed: store.counter(`${p}allowed`),
    denied: store.counter(`${p}denied`),
    corsPreflightBypassed: store.counter(`${p}cors_preflight_bypassed`),
  };
}
