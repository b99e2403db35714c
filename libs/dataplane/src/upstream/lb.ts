/**
 * Load balancers (envoy.config.cluster.v3.Cluster.LbPolicy) over the eligible host list:
 * ROUND_ROBIN (smooth weighted), LEAST_REQUEST (power of `choice_count` choices), RANDOM,
 * RING_HASH (Ketama-style ring, `minimum_ring_size` default 1024) and PEAK_EWMA (Linkerd's
 * latency-aware balancer: P2C on ewma × (active + 1)).
 */
import type { Random } from '@tsmesh/core';
import type { Host } from './host';

export interface LbContext {
  /** 32-bit hash from the route's hash_policy, when it produced one. */
  hash?: number;
  /** Hosts to avoid (retry on another host); honoured when an alternative exists. */
  exclude?: ReadonlySet<Host>;
}

export interface LoadBalancer {
  /** Called whenever the eligible host set changes. */
  update(hosts: readonly Host[]): void;
  choose(ctx: LbContext): Host | null;
}

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'PEAK_EWMA';

function pickAvoiding(hosts: readonly Host[], ctx: LbContext, pick: (list: readonly Host[]) => Host): Host | null {
  if (hosts.length === 0) return null;
  const ex = ctx.exclude;
  if (!ex || ex.size === 0) return pick(hosts);
  const rest = hosts.filter((h) => !ex.has(h));
  return pick(rest.length ? rest : hosts);
}

export class RoundRobinLb implements LoadBalancer {
  private hosts: readonly Host[] = [];
  private next = 0;
  private weighted = false;
  private current: number[] = [];
  update(hosts: readonly Host[]): void {
    this.hosts = hosts;
    this.weighted = hosts.some((h) => h.weight !== hosts[0].weight);
    this.current = hosts.map(() => 0);
  }
  choose(ctx: LbContext): Host | null {
    return pickAvoiding(this.hosts, ctx, (list) => {
      if (list !== this.hosts || !this.weighted) return list[this.next++ % list.length];
      // Smooth weighted round robin (nginx): even spread, exact proportions.
      let total = 0;
      let best = 0;
      for (let i = 0; i < list.length; i++) {
        this.current[i] += list[i].weight;
        total += list[i].weight;
        if (this.current[i] > this.current[best]) best = i;
      }
      this.current[best] -= total;
      return list[best];
    });
  }
}

export class RandomLb implements LoadBalancer {
  private hosts: readonly Host[] = [];
  constructor(private readonly random: Random) {}
  update(hosts: readonly Host[]): void {
    this.hosts = hosts;
  }
  choose(ctx: LbContext): Host | null {
    return pickAvoiding(this.hosts, ctx, (list) => list[Math.floor(this.random.next() * list.length)]);
  }
}

export class LeastRequestLb implements LoadBalancer {
  private hosts: readonly Host[] = [];
  constructor(
    private readonly random: Random,
    private readonly choices = 2,
    private readonly cost: (h: Host) => number = (h) => h.rqActive,
  ) {}
  update(hosts: readonly Host[]): void {
    this.hosts = hosts;
  }
  choose(ctx: LbContext): Host | null {
    return pickAvoiding(this.hosts, ctx, (list) => {
      let best = list[Math.floor(this.random.next() * list.length)];
      for (let i = 1; i < this.choices && list.length > 1; i++) {
        const h = list[Math.floor(this.random.next() * list.length)];
        if (this.cost(h) < this.cost(best)) best = h;
      }
      return best;
    });
  }
}

/** FNV-1a 32-bit, for ring points and request keys. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // Final avalanche (murmur3 fmix) so nearby keys spread over the ring.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class RingHashLb implements LoadBalancer {
  private ring: { point: number; host: Host }[] = [];
  private fallback: RandomLb;
  constructor(
    random: Random,
    private readonly minRingSize = 1024,
  ) {
    this.fallback = new RandomLb(random);
  }
  update(hosts: readonly Host[]): void {
    this.fallback.update(hosts);
    const ring: { point: number; host: Host }[] = [];
    const totalWeight = hosts.reduce((s, h) => s + h.weight, 0) || 1;
    for (const h of hosts) {
      const replicas = Math.max(1, Math.ceil((this.minRingSize * h.weight) / totalWeight));
      for (let i = 0; i < replicas; i++) ring.push({ point: hash32(`${h.key}_${i}`), host: h });
    }
    ring.sort((a, b) => a.point - b.point);
    this.ring = ring;
  }
  choose(ctx: LbContext): Host | null {
    if (this.ring.length === 0) return null;
    if (ctx.hash === undefined) return this.fallback.choose(ctx);
    // First point >= hash (binary search), wrapping; skip excluded hosts when possible.
    let lo = 0;
    let hi = this.ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ring[mid].point < ctx.hash) lo = mid + 1;
      else hi = mid;
    }
    for (let i = 0; i < this.ring.length; i++) {
      const h = this.ring[(lo + i) % this.ring.length].host;
      if (!ctx.exclude?.has(h)) return h;
    }
    return this.ring[lo % this.ring.length].host;
  }
}

/** Linkerd's peak-EWMA cost, decayed by time since the last sample (tau 10 s). */
export function ewmaCost(h: Host, nowMs: number, tauMs = 10000): number {
  const decay = Math.exp(-Math.max(0, nowMs - h.ewmaAt) / tauMs);
  return h.ewmaMs * decay * (h.rqActive + 1);
}

/** Records a latency sample: a higher sample replaces the estimate (peak), lower ones blend in. */
export function recordEwma(h: Host, latencyMs: number, nowMs: number, tauMs = 10000): void {
  if (latencyMs > h.ewmaMs) h.ewmaMs = latencyMs;
  else {
    const w = Math.exp(-Math.max(0, nowMs - h.ewmaAt) / tauMs);
    h.ewmaMs = h.ewmaMs * w + latencyMs * (1 - w);
  }
  h.ewmaAt = nowMs;
}

export function createLoadBalancer(
  policy: LbPolicy,
  random: Random,
  opts: { choiceCount?: number; minRingSize?: number; now?: () => number } = {},
): LoadBalancer {
  switch (policy) {
    case 'LEAST_REQUEST':
      return new LeastRequestLb(random, opts.choiceCount ?? 2);
    case 'RANDOM':
      return new RandomLb(random);
    case 'RING_HASH':
    case 'MAGLEV':
      return new RingHashLb(random, opts.minRingSize ?? 1024);
    case 'PEAK_EWMA': {
      const now = opts.now ?? (() => 0);
      return new LeastRequestLb(random, 2, (h) => ewmaCost(h, now()));
    }
    default:
      return new RoundRobinLb();
  }
}
