/**
 * Client quota cache with prefetch (the idea of istio/proxy `quota_cache.cc`):
 * a remote quota call asks, best effort, for more than this request needs; the
 * surplus is kept locally until the grant's `valid_duration` ends and spends
 * it on later requests with the same referenced attribute values, so most
 * requests need no remote call for quota. Accuracy trades for fewer calls, as
 * upstream's did: a proxy may hold up to `prefetch - 1` tokens it never uses
 * within a window.
 *
 * How much to ask for is predicted from the recent rate, as upstream's prefetch did: the requests
 * for that quota seen within the last grant's validity (one second before any grant), at least
 * one charge and at most `prefetch` charges. A slow caller asks for just what it needs, so a small
 * limit with grants valid only briefly (redisquota ROLLING_WINDOW: until the current bucket ends)
 * is not spent on tokens that expire unused; a busy one asks for the full prefetch.
 */
import type { Bag } from '@tsmesh/attributes';
import { signature, type RefAttr } from './check-cache';

interface Pool {
  tokens: number;
  expiresAt: number;
}

export class QuotaCache {
  /** Per quota name: the attribute sets its answers depended on. */
  private readonly refs = new Map<string, Map<string, RefAttr[]>>();
  private readonly pools = new Map<string, Pool>();
  /** Per quota name: the times of its last `prefetch` requests and the last grant's validity. */
  private readonly recent = new Map<string, { times: number[]; next: number; validMs: number }>();

  constructor(
    readonly prefetch: number,
    private readonly maxEntries = 10_000,
  ) {}

  private keys(quota: string, bag: Bag): string[] {
    const out: string[] = [];
    for (const [refKey, refs] of this.refs.get(quota) ?? []) {
      const sig = signature(refs, bag);
      if (sig !== null) out.push(`${quota}\u0002${refKey}\u0001${sig}`);
    }
    return out;
  }

  /** Takes `amount` tokens from a live local pool; false when the caller must ask Mixer. */
  take(quota: string, bag: Bag, amount: number, now: number): boolean {
    for (const key of this.keys(quota, bag)) {
      const p = this.pools.get(key);
      if (!p) continue;
      if (p.expiresAt <= now) {
        this.pools.delete(key);
        continue;
      }
      if (p.tokens >= amount) {
        p.tokens -= amount;
        return true;
      }
    }
    return false;
  }

  /** Records a request for `quota` at `now`; the number of units to ask Mixer for if it goes remote. */
  ask(quota: string, charge: number, now: number): number {
    let r = this.recent.get(quota);
    if (!r) {
      if (this.recent.size >= this.maxEntries) this.recent.delete(this.recent.keys().next().value as string);
      this.recent.set(quota, (r = { times: [], next: 0, validMs: 1000 }));
    }
    if (r.times.length < this.prefetch) r.times.push(now);
    else r.times[r.next] = now;
    r.next = (r.next + 1) % this.prefetch;
    let seen = 0;
    for (const t of r.times) if (now - t < r.validMs) seen++;
    return charge * Math.max(1, Math.min(this.prefetch, seen));
  }

  /** The validity of the latest grant for `quota` (the horizon of the rate prediction). */
  granted(quota: string, validMs: number): void {
    const r = this.recent.get(quota);
    if (r && validMs > 0) r.validMs = validMs;
  }

  /** Keeps what a remote grant left over after this request took `used`. */
  put(quota: string, bag: Bag, refs: RefAttr[], surplus: number, validMs: number, now: number): void {
    if (surplus <= 0 || validMs <= 0) return;
    const refKey = refs
      .map((r) => `${r.absent ? '!' : ''}${r.name}${r.mapKey === undefined ? '' : `[${r.mapKey}]`}`)
      .join(',');
    let sets = this.refs.get(quota);
    if (!sets) this.refs.set(quota, (sets = new Map()));
    if (!sets.has(refKey)) sets.set(refKey, refs);
    const sig = signature(refs, bag);
    if (sig === null) return;
    this.pools.set(`${quota}\u0002${refKey}\u0001${sig}`, { tokens: surplus, expiresAt: now + validMs });
    while (this.pools.size > this.maxEntries) this.pools.delete(this.pools.keys().next().value as string);
  }
}
