import type { Counter, StatsStore } from '../../../stats/store';

/**
 * Envoy's local rate limit stats, `<stat_prefix>.http_local_rate_limit.{enabled,ok,rate_limited,enforced}`,
 * at the root of the stats tree (the filter's own prefix, not the connection manager's).
 */
export interface LocalRateLimitStats {
  enabled: Counter;
  ok: Counter;
  rateLimited: Counter;
  enforced: Counter;
}

export function localRateLimitStats(store: StatsStore, statPrefix: string): LocalRateLimitStats {
  const p = `${statPrefix}.http_local_rate_limit.`;
  return {
    enabled: store.counter(`${p}enabled`),
    ok: store.counter(`${p}ok`),
    rateLimited: store.counter(`${p}rate_limited`),
    enforced: store.counter(`${p}enforced`),
  };
}
