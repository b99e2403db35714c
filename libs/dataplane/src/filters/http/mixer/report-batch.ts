/**
 * Report batching off the request path (istio/proxy `report_batch.cc`): bags
 * are queued and sent when 1,000 are waiting or 1 s after the first one.
 * Failures are counted, never retried; the queue is bounded, and what does
 * not fit is dropped and counted.
 */
import { encodeReport, type Bag } from '@tsmesh/attributes';
import type { Clock, TimerHandle } from '@tsmesh/core';

export interface ReportBatchOptions {
  maxEntries: number;
  maxDelayMs: number;
  /** Bags kept while sends are in flight before new ones are dropped. */
  maxQueued: number;
}

export const DEFAULT_REPORT_BATCH: ReportBatchOptions = { maxEntries: 1000, maxDelayMs: 1000, maxQueued: 10_000 };

export interface ReportSink {
  send(req: unknown): Promise<void>;
  onSent(ok: boolean, entries: number): void;
  onDropped(entries: number): void;
}

export class ReportBatcher {
  private queue: Bag[] = [];
  private timer: TimerHandle | null = null;
  private inFlight = 0;

  constructor(
    private readonly sink: ReportSink,
    private readonly clock: Clock,
    private readonly opts: ReportBatchOptions = DEFAULT_REPORT_BATCH,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  add(bag: Bag): void {
    if (this.queue.length + this.inFlight >= this.opts.maxQueued) {
      this.sink.onDropped(1);
      return;
    }
    this.queue.push(bag);
    if (this.queue.length >= this.opts.maxEntries) this.flush();
    else if (!this.timer) this.timer = this.clock.setTimeout(() => this.flush(), this.opts.maxDelayMs);
  }

  /** Sends what is queued now; resolves when the send finished. */
  flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    if (this.queue.length === 0) return Promise.resolve();
    const batch = this.queue;
    this.queue = [];
    this.inFlight += batch.length;
    const reqs = encodeReport(batch);
    return Promise.all(
      reqs.map((r) =>
        this.sink.send(r).then(
          () => this.sink.onSent(true, r.attributes.length),
          () => this.sink.onSent(false, r.attributes.length),
        ),
      ),
    ).then(() => {
      this.inFlight -= batch.length;
    });
  }

  close(): Promise<void> {
    return this.flush();
  }
}
