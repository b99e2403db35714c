/**
 * Circuit breakers (envoy.config.cluster.v3.CircuitBreakers, default priority): max_connections,
 * max_pending_requests, max_requests, max_retries (defaults 1024/1024/1024/3). With `retry_budget`
 * set, retries are limited by a Linkerd-style budget instead of max_retries: retries within the
 * last 10 s may not exceed `budget_percent` (default 20%) of requests plus 10 per second.
 */
import type { Clock, FieldError } from '@tsmesh/core';
import { wrapped, type Msg } from '../engine/types';

export interface CircuitBreakerConfig {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  budget: { ratio: number; minPerSecond: number } | null;
}

export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerConfig = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
  budget: null,
};

export function parseCircuitBreakers(m: Msg | undefined, path: string, errors: FieldError[]): CircuitBreakerConfig {
  const list = (m?.['thresholds'] as Msg[] | undefined) ?? [];
  const t = list.find((x) => x['priority'] === undefined || x['priority'] === 0 || x['priority'] === 'DEFAULT');
  if (!t) return DEFAULT_CIRCUIT_BREAKER;
  const num = (field: string, def: number): number => {
    const v = Number(wrapped(t[field], def));
    if (!Number.isInteger(v) || v < 0)
      errors.push({ path: `${path}.thresholds[0].${field}`, message: 'must be a non-negative integer' });
    return v;
  };
  const rb = t['retry_budget'] as Msg | undefined;
  return {
    maxConnections: num('max_connections', 1024),
    maxPendingRequests: num('max_pending_requests', 1024),
    maxRequests: num('max_requests', 1024),
    maxRetries: num('max_retries', 3),
    budget: rb
      ? {
          ratio: Number(wrapped(rb['budget_percent'], 20)) / 100,
          minPerSecond: Number(wrapped(rb['min_retry_concurrency'], 10)),
        }
      : null,
  };
}

/** Linkerd's retry budget: a 10 s window of one-second buckets of requests and retries. */
export class RetryBudget {
  private readonly deposits = new Array<number>(10).fill(0);
  private readonly withdrawals = new Array<number>(10).fill(0);
  private bucketAt = -1;

  constructor(
    private readonly clock: Clock,
    private readonly ratio: number,
    private readonly minPerSecond: number,
  ) {}

  private roll(): number {
    const sec = Math.floor(this.clock.monotonic() / 1000);
    if (this.bucketAt < 0) this.bucketAt = sec;
    const gap = Math.min(10, sec - this.bucketAt);
    for (let i = 1; i <= gap; i++) {
      const idx = (this.bucketAt + i) % 10;
      this.deposits[idx] = 0;
      this.withdrawals[idx] = 0;
    }
    this.bucketAt = Math.max(this.bucketAt, sec);
    return sec % 10;
  }

  deposit(): void {
    this.deposits[this.roll()]++;
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryWithdraw(): boolean {
    const idx = this.roll();
    const d = this.deposits.reduce((a, b) => a + b, 0);
    const w = this.withdrawals.reduce((a, b) => a + b, 0);
    if (w + 1 > this.minPerSecond * 10 + this.ratio * d) return false;
    this.withdrawals[idx]++;
    return true;
  }
}
