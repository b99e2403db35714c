/**
 * Decodes Envoy's `envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`, for the
 * listener's filter and for `typed_per_filter_config` (where `token_bucket` is required and the
 * route gets a bucket of its own). `filter_enabled` / `filter_enforced` default to 0% as in
 * Envoy; tsmesh has no runtime layer, so their `default_value` is the fraction used and the
 * `runtime_key` is not looked up. Descriptors (`descriptors`, `rate_limits`), the local-cluster
 * share and the `x-ratelimit-*` headers are refused, not ignored.
 */
import { parseDuration, type FieldError } from '@tsmesh/core';
import { lookupType } from '@tsmesh/protocol';
import { enumName, wrapped, type Msg } from '../../../engine/types';
import { compileHeaderAdds, type HeaderAdd } from '../../../http/header-ops';
import { fractionOf } from '../../../http/route-table';
import { TokenBucket, type TokenBucketSpec } from './token-bucket';

export const LOCAL_RATE_LIMIT_NAME = 'envoy.filters.http.local_ratelimit';
export const LOCAL_RATE_LIMIT_TYPE_URL =
  'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';

/** Envoy's smallest accepted fill interval ("fill timer must be >= 50ms"). */
export const MIN_FILL_INTERVAL_MS = 50;
const DEFAULT_STATUS = 429;

export interface LocalRateLimitConfig {
  readonly statPrefix: string;
  /** Status of the local reply (429 unless configured >= 400). */
  readonly status: number;
  /** null: no token bucket (a listener-level config that only enables per-route limits). */
  readonly bucket: TokenBucketSpec | null;
  /** The bucket shared by all requests under this config (per process, as in Envoy). */
  readonly shared: TokenBucket | null;
  /** `local_rate_limit_per_downstream_connection`: one bucket per downstream connection. */
  readonly perConnection: boolean;
  /** Fractions (0..1) of requests for which the limiter is consulted / its refusal enforced. */
  readonly enabled: number;
  readonly enforced: number;
  readonly responseHeaders: readonly HeaderAdd[];
  readonly requestHeadersWhenNotEnforced: readonly HeaderAdd[];
  /** gRPC requests get RESOURCE_EXHAUSTED instead of the status mapped from the HTTP code. */
  readonly resourceExhausted: boolean;
}

/** `RuntimeFractionalPercent` as a fraction of its `default_value`; absent means 0%. */
function runtimeFraction(m: Msg | undefined): number {
  return m ? fractionOf(m['default_value'] ?? { numerator: 0 }) : 0;
}

/** `envoy.type.v3.HttpStatus.code` (an enum name such as `TooManyRequests`, or a number). */
function statusCode(m: Msg | undefined, path: string, errors: FieldError[]): number {
  const code: unknown = m?.['code'];
  if (code === undefined || code === 0 || code === '') return DEFAULT_STATUS;
  let n: number | undefined;
  if (typeof code === 'number') n = code;
  else {
    const field = lookupType('envoy.type.v3.HttpStatus').fields['code'].resolve();
    n = (field.resolvedType as { values?: Record<string, number> } | null)?.values?.[String(code)];
  }
  if (n === undefined || !Number.isInteger(n) || n < 100 || n > 599) {
    errors.push({ path: `${path}.status.code`, message: `unknown HTTP status ${String(code)}` });
    return DEFAULT_STATUS;
  }
  // Envoy: a status below 400 would not read as a refusal, so 429 is used instead.
  return n < 400 ? DEFAULT_STATUS : n;
}

function tokenBucket(m: Msg | undefined, path: string, errors: FieldError[]): TokenBucketSpec | null {
  if (!m) return null;
  const p = `${path}.token_bucket`;
  const maxTokens = Number(m['max_tokens'] ?? 0);
  if (!(Number.isInteger(maxTokens) && maxTokens > 0))
    errors.push({ path: `${p}.max_tokens`, message: 'must be greater than 0' });
  const tokensPerFill = Number(wrapped(m['tokens_per_fill'], 1));
  if (!(Number.isInteger(tokensPerFill) && tokensPerFill > 0))
    errors.push({ path: `${p}.tokens_per_fill`, message: 'must be greater than 0' });
  const fillIntervalMs = m['fill_interval'] === undefined ? null : parseDuration(m['fill_interval']);
  if (fillIntervalMs === null) errors.push({ path: `${p}.fill_interval`, message: 'a duration is required' });
  else if (fillIntervalMs < MIN_FILL_INTERVAL_MS)
    errors.push({ path: `${p}.fill_interval`, message: `must be at least ${MIN_FILL_INTERVAL_MS}ms` });
  return { maxTokens, tokensPerFill, fillIntervalMs: fillIntervalMs ?? MIN_FILL_INTERVAL_MS };
}

function refuseUnsupported(m: Msg, path: string, errors: FieldError[]): void {
  const unsupported = (field: string) => errors.push({ path: `${path}.${field}`, message: 'not supported by tsmesh' });
  if (((m['descriptors'] as unknown[] | undefined) ?? []).length) unsupported('descriptors');
  if (((m['rate_limits'] as unknown[] | undefined) ?? []).length) unsupported('rate_limits');
  if (m['local_cluster_rate_limit']) unsupported('local_cluster_rate_limit');
  if (enumName(m['enable_x_ratelimit_headers'], ['OFF', 'DRAFT_VERSION_03'], 'OFF') !== 'OFF')
    unsupported('enable_x_ratelimit_headers');
}

function parse(m: Msg, path: string, errors: FieldError[], perRoute: boolean): LocalRateLimitConfig {
  const statPrefix = String(m['stat_prefix'] ?? '');
  if (!statPrefix) errors.push({ path: `${path}.stat_prefix`, message: 'is required' });
  refuseUnsupported(m, path, errors);
  const bucket = tokenBucket(m['token_bucket'], path, errors);
  if (perRoute && !bucket)
    errors.push({
      path: `${path}.token_bucket`,
      message: 'is required in a per-route (typed_per_filter_config) config',
    });
  const perConnection = m['local_rate_limit_per_downstream_connection'] === true;
  return {
    statPrefix,
    status: statusCode(m['status'], path, errors),
    bucket,
    shared: bucket && !perConnection ? new TokenBucket(bucket) : null,
    perConnection,
    enabled: runtimeFraction(m['filter_enabled']),
    enforced: runtimeFraction(m['filter_enforced']),
    responseHeaders: compileHeaderAdds(m['response_headers_to_add'], `${path}.response_headers_to_add`, errors),
    requestHeadersWhenNotEnforced: compileHeaderAdds(
      m['request_headers_to_add_when_not_enforced'],
      `${path}.request_headers_to_add_when_not_enforced`,
      errors,
    ),
    resourceExhausted: m['rate_limited_as_resource_exhausted'] === true,
  };
}

/** The listener's filter config (`typed_config`). */
export function parseLocalRateLimit(m: Msg, path: string, errors: FieldError[]): LocalRateLimitConfig {
  return parse(m, path, errors, false);
}

/** A route's, virtual host's or route configuration's override: a bucket of its own. */
export function parseLocalRateLimitPerRoute(m: Msg, path: string, errors: FieldError[]): LocalRateLimitConfig {
  return parse(m, path, errors, true);
}
