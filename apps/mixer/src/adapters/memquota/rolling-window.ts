/**
 * Memquota's rolling window: the window is cut into ticks (10 per second, as
 * Istio's memquota) and allocations age out tick by tick.
 */
export class RollingWindow {
  private readonly ticks: number[];
  private readonly tickMs: number;
  private headTick = 0;
  /** Whether headTick is set (0 is a valid tick for a clock that starts at 0). */
  private started = false;
  private total = 0;

  constructor(
    readonly windowMs: number,
    ticksPerSecond = 10,
  ) {
    this.tickMs = 1000 / ticksPerSecond;
    this.ticks = new Array(Math.max(1, Math.ceil(windowMs / this.tickMs))).fill(0);
  }

  private advance(nowMs: number): void {
    const tick = Math.floor(nowMs / this.tickMs);
    if (!this.started) {
      this.headTick = tick;
      this.started = true;
    }
    const steps = tick - this.headTick;
    if (steps <= 0) return;
    const n = this.ticks.length;
    for (let i = 1; i <= Math.min(steps, n); i++) {
      const slot = (this.headTick + i) % n;
      this.total -= this.ticks[slot];
      this.ticks[slot] = 0;
    }
    this.headTick = tick;
  }

  used(nowMs: number): number {
    this.advance(nowMs);
    return this.total;
  }

  add(nowMs: number, amount: number): void {
    this.advance(nowMs);
    this.ticks[this.headTick % this.ticks.length] += amount;
    this.total += amount;
  }
}
