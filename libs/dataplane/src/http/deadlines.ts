/**
 * Route timeouts without a clock timer per request. Requests with the same timeout expire in
 * the order they started, so each timeout length has a lane: a FIFO of deadlines behind one
 * clock timer armed for the earliest. A deadline that is cancelled (the usual case: the response
 * came first) is only marked; marked entries are dropped when they reach the front, and the lane
 * is compacted when they pile up behind a long-lived one. A timer firing with nothing due re-arms
 * for the new front; a lane left with nothing live keeps its timer until it fires once.
 *
 * Per request this is one small object and an array push instead of a node `Timeout` (with its
 * async-resource set-up and timer-list insert and removal) plus the clock's handle and closures.
 */
import type { Clock, TimerHandle } from '@tsmesh/core';

/** What a deadline calls when it passes. */
export interface Expiring {
  expired(): void;
}

/** Lanes kept per manager; other lengths (per-request header timeouts) get a timer each. */
const MAX_LANES = 16;

class Deadline implements TimerHandle {
  constructor(
    public owner: Expiring | null,
    readonly at: number,
    private readonly lane: Lane,
  ) {}
  cancel(): void {
    if (this.owner === null) return;
    this.owner = null;
    this.lane.cancelled();
  }
}

class Lane {
  private q: Deadline[] = [];
  private head = 0;
  private live = 0;
  private timer: TimerHandle | null = null;
  private firing = false;

  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
  ) {}

  add(owner: Expiring): Deadline {
    const d = new Deadline(owner, this.clock.monotonic() + this.ms, this);
    this.q.push(d);
    this.live++;
    // While firing, the timer is armed afterwards for whatever is then in front.
    if (this.timer === null && !this.firing) this.arm(this.ms);
    return d;
  }

  cancelled(): void {
    this.live--;
    if (!this.firing) this.trim();
  }

  /** Drops marked entries at the front; compacts when marked ones pile up behind a live one. */
  private trim(): void {
    const q = this.q;
    let h = this.head;
    while (h < q.length && q[h].owner === null) h++;
    if (h === q.length) {
      q.length = 0;
      h = 0;
    } else if (q.length - h > 2 * this.live + 64) {
      this.q = q.slice(h).filter((d) => d.owner !== null);
      h = 0;
    } else if (h > 1024 && h * 2 > q.length) {
      this.q = q.slice(h);
      h = 0;
    }
    this.head = h;
  }

  private arm(ms: number): void {
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, ms));
  }

  private fire(): void {
    this.timer = null;
    const now = this.clock.monotonic();
    this.firing = true;
    try {
      // Entries added while expiring others are later than `now`: the loop stops at them.
      while (this.head < this.q.length) {
        const d = this.q[this.head];
        const owner = d.owner;
        if (owner !== null && d.at > now) break;
        this.head++;
        if (owner === null) continue;
        d.owner = null;
        this.live--;
        owner.expired();
      }
    } finally {
      this.firing = false;
    }
    this.trim();
    if (this.live > 0 && this.timer === null) this.arm(this.q[this.head].at - now);
  }
}

/** The route-timeout lanes of one connection manager. */
export class Deadlines {
  private readonly lanes = new Map<number, Lane>();

  constructor(private readonly clock: Clock) {}

  /** Calls `owner.expired()` after `ms` unless the returned handle is cancelled first. */
  add(ms: number, owner: Expiring): TimerHandle {
    let lane = this.lanes.get(ms);
    if (lane === undefined) {
      if (this.lanes.size >= MAX_LANES) return this.clock.setTimeout(() => owner.expired(), ms);
      lane = new Lane(this.clock, ms);
      this.lanes.set(ms, lane);
    }
    return lane.add(owner);
  }
}
