/**
 * Push debouncing (Istio `PILOT_DEBOUNCE_AFTER` / `PILOT_DEBOUNCE_MAX`): a
 * push fires once no change arrived for `afterMs`, or `maxMs` after the first
 * change of the burst, whichever comes first. Changes merge: any config change
 * makes the push full; endpoint-only bursts stay EDS-only.
 */
import type { Clock, TimerHandle } from '@tsmesh/core';

export interface PushRequest {
  /** False when only endpoints changed (incremental EDS push). */
  full: boolean;
  /** Monotonic time of the first change in the burst (for convergence time). */
  startMs: number;
  /** Number of changes merged. */
  count: number;
  /** Why: the changed kinds. */
  reasons: Set<string>;
}

export class Debouncer {
  private pending?: PushRequest;
  private lastChangeMs = 0;
  private timer?: TimerHandle;

  constructor(
    private readonly clock: Clock,
    private readonly afterMs: number,
    private readonly maxMs: number,
    private readonly fire: (req: PushRequest) => void,
  ) {}

  /** Records one change. */
  change(full: boolean, reason: string): void {
    const now = this.clock.monotonic();
    this.lastChangeMs = now;
    if (!this.pending) {
      this.pending = { full, startMs: now, count: 0, reasons: new Set() };
      this.arm(this.afterMs);
    }
    this.pending.full ||= full;
    this.pending.count++;
    this.pending.reasons.add(reason);
  }

  /** Fires any pending push now (shutdown, tests). */
  flush(): void {
    this.timer?.cancel();
    this.timer = undefined;
    const p = this.pending;
    this.pending = undefined;
    if (p) this.fire(p);
  }

  get hasPending(): boolean {
    return !!this.pending;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.pending = undefined;
  }

  private arm(ms: number): void {
    this.timer?.cancel();
    this.timer = this.clock.setTimeout(() => this.check(), ms);
  }

  private check(): void {
    const p = this.pending;
    if (!p) return;
    const now = this.clock.monotonic();
    const quiet = now - this.lastChangeMs;
    const age = now - p.startMs;
    if (quiet >= this.afterMs || age >= this.maxMs) {
      this.flush();
      return;
    }
    this.arm(Math.min(this.afterMs - quiet, this.maxMs - age));
  }
}
