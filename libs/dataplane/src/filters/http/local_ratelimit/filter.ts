/**
 * The local rate limit stream filter (Envoy's `envoy.filters.http.local_ratelimit`). The most
 * specific per-route config replaces the listener's, with its own bucket. For the enabled
 * fraction of requests one token is taken; without one the request is counted `rate_limited`
 * and, for the enforced fraction, refused with a local reply (`local_rate_limited`, status 429
 * or the configured one, `response_headers_to_add`, `x-envoy-ratelimited: true`, flag RL).
 * Rate limited but not enforced, it goes upstream with `request_headers_to_add_when_not_enforced`.
 */
import { GrpcStatus, type Random } from '@tsmesh/core';
import { applyHeaderAdds, type HeaderMap } from '../../../http/header-ops';
import type {
  DownstreamConnection,
  FilterFactoryContext,
  HttpFilter,
  HttpStreamContext,
  LocalReply,
} from '../../types';
import type { LocalRateLimitConfig } from './config';
import { localRateLimitStats, type LocalRateLimitStats } from './stats';
import { TokenBucket } from './token-bucket';

export const LOCAL_RATE_LIMITED_BODY = 'local_rate_limited';

/** Envoy's runtime feature check for a fraction: always at 100%, never at 0%, else a draw. */
function drawn(fraction: number, random: Random): boolean {
  return fraction >= 1 || (fraction > 0 && random.next() < fraction);
}

export function createLocalRateLimitFactory(
  config: LocalRateLimitConfig,
  fctx: FilterFactoryContext,
): () => HttpFilter {
  const { clock, random } = fctx;
  // Stats and per-connection buckets per config object: the listener's and each per-route one.
  const statsByConfig = new WeakMap<LocalRateLimitConfig, LocalRateLimitStats>();
  const connectionBuckets = new WeakMap<LocalRateLimitConfig, WeakMap<DownstreamConnection, TokenBucket>>();

  const statsOf = (cfg: LocalRateLimitConfig): LocalRateLimitStats => {
    let s = statsByConfig.get(cfg);
    if (!s) statsByConfig.set(cfg, (s = localRateLimitStats(fctx.stats, cfg.statPrefix)));
    return s;
  };

  const bucketOf = (cfg: LocalRateLimitConfig, ctx: HttpStreamContext): TokenBucket | null => {
    if (!cfg.bucket || !cfg.perConnection) return cfg.shared;
    let byConn = connectionBuckets.get(cfg);
    if (!byConn) connectionBuckets.set(cfg, (byConn = new WeakMap()));
    let b = byConn.get(ctx.connection);
    if (!b) byConn.set(ctx.connection, (b = new TokenBucket(cfg.bucket)));
    return b;
  };

  const refusal = (cfg: LocalRateLimitConfig, ctx: HttpStreamContext): LocalReply => {
    const headers: HeaderMap = {};
    applyHeaderAdds(headers, cfg.responseHeaders);
    headers['x-envoy-ratelimited'] = 'true';
    return {
      status: cfg.status,
      body: LOCAL_RATE_LIMITED_BODY,
      headers: headers as Record<string, string>,
      flag: 'RL',
      grpcStatus: ctx.isGrpc && cfg.resourceExhausted ? GrpcStatus.RESOURCE_EXHAUSTED : undefined,
      details: 'local_rate_limited',
    };
  };

  return () => ({
    onRequest(ctx): LocalReply | undefined {
      const cfg = ctx.perRouteConfig<LocalRateLimitConfig>(fctx.filterName) ?? config;
      const bucket = bucketOf(cfg, ctx);
      if (!bucket || !drawn(cfg.enabled, random)) return undefined;
      const stats = statsOf(cfg);
      stats.enabled.inc();
      if (bucket.tryConsume(clock.monotonic())) {
        stats.ok.inc();
        return undefined;
      }
      stats.rateLimited.inc();
      if (!drawn(cfg.enforced, random)) {
        applyHeaderAdds(ctx.headers, cfg.requestHeadersWhenNotEnforced);
        return undefined;
      }
      stats.enforced.inc();
      return refusal(cfg, ctx);
    },
  });
}
