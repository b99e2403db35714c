import { SeededRandom, SequenceRandom } from '@tsmesh/core';
import { Host } from './host';
import {
  ewmaCost,
  hash32,
  LeastRequestLb,
  RandomLb,
  recordEwma,
  RingHashLb,
  RoundRobinLb,
  createLoadBalancer,
} from './lb';

const hosts = (n: number, weights?: number[]) =>
  Array.from({ length: n }, (_, i) => new Host('10.0.0.' + (i + 1), 9080, weights?.[i] ?? 1));

describe('load balancers', () => {
  it('ROUND_ROBIN cycles equal hosts and spreads weights smoothly in exact proportion', () => {
    const hs = hosts(3);
    const rr = new RoundRobinLb();
    rr.update(hs);
    expect([0, 1, 2, 3].map(() => rr.choose({})?.address)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1']);
    const w = hosts(2, [3, 1]);
    rr.update(w);
    const picks = Array.from({ length: 8 }, () => rr.choose({})?.address);
    expect(picks.filter((a) => a === '10.0.0.1')).toHaveLength(6);
    expect(picks.slice(0, 4)).toEqual(['10.0.0.1', '10.0.0.1', '10.0.0.2', '10.0.0.1']);
  });

  it('avoids excluded hosts (retry on another host) when an alternative exists', () => {
    const hs = hosts(2);
    const rr = new RoundRobinLb();
    rr.update(hs);
    expect(rr.choose({ exclude: new Set([hs[0]]) })).toBe(hs[1]);
    expect(rr.choose({ exclude: new Set(hs) })).toBeDefined();
  });

  it('LEAST_REQUEST takes the less loaded of two random choices (P2C)', () => {
    const hs = hosts(3);
    hs[0].rqActive = 5;
    hs[2].rqActive = 1;
    const lr = new LeastRequestLb(new SequenceRandom([0, 0.9]));
    lr.update(hs);
    expect(lr.choose({})).toBe(hs[2]);
  });

  it('RANDOM draws from the injected random source', () => {
    const hs = hosts(4);
    const r = new RandomLb(new SequenceRandom([0.5]));
    r.update(hs);
    expect(r.choose({})).toBe(hs[2]);
  });

  it('RING_HASH maps a key to the same host and moves few keys when a host leaves', () => {
    const hs = hosts(4);
    const ring = new RingHashLb(new SeededRandom(1), 1024);
    ring.update(hs);
    const keys = Array.from({ length: 400 }, (_, i) => hash32('user-' + i));
    const before = keys.map((k) => ring.choose({ hash: k }));
    expect(keys.map((k) => ring.choose({ hash: k }))).toEqual(before);
    const counts = new Map<Host | null, number>();
    for (const h of before) counts.set(h, (counts.get(h) ?? 0) + 1);
    for (const h of hs) expect(counts.get(h)).toBeGreaterThan(50);
    ring.update(hs.slice(0, 3));
    const after = keys.map((k) => ring.choose({ hash: k }));
    const stayed = keys.filter((_, i) => before[i] !== hs[3]).length;
    const moved = after.filter((h, i) => h !== before[i] && before[i] !== hs[3]).length;
    // Keys of remaining hosts mostly stay put (a modulo hash would move about 3/4 of them).
    expect(moved / stayed).toBeLessThan(0.25);
    expect(after.every((h) => h !== hs[3])).toBe(true);
  });

  it('PEAK_EWMA prefers the host with lower latency × load and forgets old peaks', () => {
    const hs = hosts(2);
    recordEwma(hs[0], 100, 0);
    recordEwma(hs[1], 10, 0);
    const lb = createLoadBalancer('PEAK_EWMA', new SequenceRandom([0, 0.9]), { now: () => 0 });
    lb.update(hs);
    expect(lb.choose({})).toBe(hs[1]);
    expect(ewmaCost(hs[0], 60000)).toBeLessThan(ewmaCost(hs[0], 0) / 100);
  });
});
