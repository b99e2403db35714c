import type { HttpFilterFactory } from '../../types';
import {
  LOCAL_RATE_LIMIT_NAME,
  LOCAL_RATE_LIMIT_TYPE_URL,
  parseLocalRateLimit,
  parseLocalRateLimitPerRoute,
  type LocalRateLimitConfig,
} from './config';
import { createLocalRateLimitFactory } from './filter';

/** `envoy.filters.http.local_ratelimit` (Envoy's token-bucket local rate limit, flag RL). */
export const localRateLimitFilter: HttpFilterFactory<LocalRateLimitConfig, LocalRateLimitConfig> = {
  name: LOCAL_RATE_LIMIT_NAME,
  typeUrls: [LOCAL_RATE_LIMIT_TYPE_URL],
  parseConfig: parseLocalRateLimit,
  parsePerRoute: parseLocalRateLimitPerRoute,
  create: createLocalRateLimitFactory,
};

export * from './config';
export { LOCAL_RATE_LIMITED_BODY } from './filter';
export { TokenBucket, type TokenBucketSpec } from './token-bucket';
