/**
 * The token bucket of Envoy's local rate limiter: it starts full, gains `tokensPerFill` tokens
 * (up to `maxTokens`) at every `fillIntervalMs` boundary, and each admitted request takes one.
 * Envoy refills on a timer; here the fills that fell due are added when the bucket is next
 * used, from the time the caller passes (the engine's monotonic clock), so a bucket holds no
 * timer and a fake clock drives it in tests.
 */
export interface TokenBucketSpec {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
}

export class TokenBucket {
  private tokens: number;
  /** Time of the last fill boundary; unset until first use, when the fill timer starts. */
  private lastFill: number | undefined;

  constructor(readonly spec: TokenBucketSpec) {
    this.tokens = spec.maxTokens;
  }

  /** Takes one token if there is one. */
  tryConsume(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** Tokens left at `nowMs`. */
  remaining(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens;
  }

  private refill(nowMs: number): void {
    if (this.lastFill === undefined) {
      this.lastFill = nowMs;
      return;
    }
    const { maxTokens, tokensPerFill, fillIntervalMs } = this.spec;
    const fills = Math.floor((nowMs - this.lastFill) / fillIntervalMs);
    if (fills <= 0) return;
    this.lastFill += fills * fillIntervalMs;
    this.tokens = Math.min(maxTokens, this.tokens + fills * tokensPerFill);
  }
}
