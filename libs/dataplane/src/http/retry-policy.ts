/**
 * Route retry policy (envoy.config.route.v3.RetryPolicy) and the per-request overrides
 * `x-envoy-retry-on`, `x-envoy-max-retries`. Backoff is Envoy's fully jittered exponential:
 * base 25 ms, capped at 10× base unless `retry_back_off` says otherwise.
 */
import { parseDuration, type FieldError } from '@tsmesh/core';
import { wrapped, type Msg } from '../engine/types';
import type { UpstreamFailure } from '../upstream/pool';

export interface RetryPolicy {
  readonly retryOn: ReadonlySet<string>;
  readonly numRetries: number;
  readonly perTryTimeoutMs: number;
  readonly baseIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly retriableStatusCodes: ReadonlySet<number>;
  /** Prefer a host not tried before (`envoy.retry_host_predicates.previous_hosts`; on by default here). */
  readonly previousHosts: boolean;
  readonly hostSelectionAttempts: number;
}

export const RETRY_ON_VALUES = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

export function parseRetryOn(text: string): Set<string> {
  return new Set(
    text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
}

export function compileRetryPolicy(m: Msg, path: string, errors: FieldError[]): RetryPolicy {
  const retryOn = parseRetryOn(String(m['retry_on'] ?? ''));
  for (const v of retryOn) {
    if (!RETRY_ON_VALUES.has(v)) errors.push({ path: `${path}.retry_on`, message: `unknown retry condition "${v}"` });
  }
  const perTry = m['per_try_timeout'] === undefined ? 0 : parseDuration(m['per_try_timeout']);
  if (perTry === null) errors.push({ path: `${path}.per_try_timeout`, message: 'invalid duration' });
  const base =
    m['retry_back_off']?.['base_interval'] === undefined ? 25 : parseDuration(m['retry_back_off']['base_interval']);
  if (base === null || base <= 0) errors.push({ path: `${path}.retry_back_off.base_interval`, message: 'must be > 0' });
  const b = base && base > 0 ? base : 25;
  const max =
    m['retry_back_off']?.['max_interval'] === undefined ? b * 10 : parseDuration(m['retry_back_off']['max_interval']);
  if (max === null || max < b)
    errors.push({ path: `${path}.retry_back_off.max_interval`, message: 'must be >= base_interval' });
  const predicates = ((m['retry_host_predicate'] as Msg[] | undefined) ?? []).map((p) => String(p['name'] ?? ''));
  return {
    retryOn,
    numRetries: Number(wrapped(m['num_retries'], 1)),
    perTryTimeoutMs: perTry ?? 0,
    baseIntervalMs: b,
    maxIntervalMs: max && max >= b ? max : b * 10,
    retriableStatusCodes: new Set(((m['retriable_status_codes'] as number[] | undefined) ?? []).map(Number)),
    previousHosts: predicates.length === 0 || predicates.includes('envoy.retry_host_predicates.previous_hosts'),
    hostSelectionAttempts: Number(m['host_selection_retry_max_attempts'] ?? 5),
  };
}

/** Whether a response status should be retried under this policy. */
export function retriableStatus(
  p: { retryOn: ReadonlySet<string>; retriableStatusCodes: ReadonlySet<number> },
  status: number,
): boolean {
  const on = p.retryOn;
  if (status >= 500 && on.has('5xx')) return true;
  if ((status === 502 || status === 503 || status === 504) && on.has('gateway-error')) return true;
  if (status === 409 && on.has('retriable-4xx')) return true;
  if (status === 429 && on.has('envoy-ratelimited')) return false;
  if (on.has('retriable-status-codes') && p.retriableStatusCodes.has(status)) return true;
  return false;
}

/** gRPC status (from trailers-only responses) retriable under the gRPC retry_on names. */
export function retriableGrpc(on: ReadonlySet<string>, grpcStatus: number): boolean {
  return (
    (grpcStatus === 1 && on.has('cancelled')) ||
    (grpcStatus === 4 && on.has('deadline-exceeded')) ||
    (grpcStatus === 13 && on.has('internal')) ||
    (grpcStatus === 8 && on.has('resource-exhausted')) ||
    (grpcStatus === 14 && on.has('unavailable'))
  );
}

/**
 * Whether a failure before the response head is retried (Envoy's wouldRetryFromReset): an
 * overflow never; any other under `reset`, `5xx` or `gateway-error`; otherwise only a refused
 * stream under `refused-stream` and a connect failure under `connect-failure`.
 */
export function retriableFailure(on: ReadonlySet<string>, kind: UpstreamFailure): boolean {
  if (kind === 'overflow') return false;
  if (on.has('reset') || on.has('5xx') || on.has('gateway-error')) return true;
  if (kind === 'refused') return on.has('refused-stream');
  if (kind === 'connect') return on.has('connect-failure');
  return false;
}
