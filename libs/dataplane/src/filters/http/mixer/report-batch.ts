/**
 * Report batching off the request path (istio/proxy `report_batch.cc`): each
 * completed request's bag is written into the pending ReportRequest at once
 * (`ReportEncoder`: delta-encoded, shared words) and dropped, and the batch is
 * sent when 1,000 entries are waiting or 1 s after the first one. So a flush
 * only appends the words (no burst of encoding on the event loop) and no bag
 * outlives its request (bags kept for a second were promoted out of the young
 * generation and doubled GC). Failures are counted, never retried; the queue is
 * bounded, and what does not fit is dropped and counted.
 */
import { ReportEncoder, type Bag } from '@tsmesh/attributes';
import type { Clock, TimerHandle } from '@tsmesh/core';

export interface ReportBatchOptions {
  maxEntries: number;
  maxDelayMs: number;
  /** Entries kept while sends are in flight before new ones are dropped. */
  maxQueued: number;
}

export const DEFAULT_REPORT_BATCH: ReportBatchOptions = { maxEntries: 1000, maxDelayMs: 1000, maxQueued: 10_000 };

export interface ReportSink {
  /** `req`: ReportRequest bytes, written over by a later batch once the returned promise settles. */
  send(req: Buffer): Promise<void>;
  onSent(ok: boolean, entries: number): void;
  onDropped(entries: number): void;
}

export class ReportBatcher {
  private readonly encoder = new ReportEncoder();
  private timer: TimerHandle | null = null;
  private inFlight = 0;
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly sink: ReportSink,
    private readonly clock: Clock,
    private readonly opts: ReportBatchOptions = DEFAULT_REPORT_BATCH,
  ) {}

  get pending(): number {
    return this.encoder.size;
  }

  add(bag: Bag): void {
    if (this.encoder.size + this.inFlight >= this.opts.maxQueued) {
      this.sink.onDropped(1);
      return;
    }
    this.encoder.add(bag);
    if (this.encoder.size >= this.opts.maxEntries) void this.flush();
    else if (!this.timer) this.timer = this.clock.setTimeout(() => void this.flush(), this.opts.maxDelayMs);
  }

  /** Sends what is queued now; resolves when the send finished. */
  flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    const n = this.encoder.size;
    if (n === 0) return Promise.resolve();
    this.inFlight += n;
    const reqs = this.encoder.finish();
    const p = Promise.all(
      reqs.map((r) =>
        this.sink
          .send(r.bytes)
          .then(
            () => this.sink.onSent(true, r.entries),
            () => this.sink.onSent(false, r.entries),
          )
          // the send is over: the bytes are not read again, the next batch writes over them
          .then(() => this.encoder.recycle(r)),
      ),
    ).then(() => {
      this.inFlight -= n;
      this.sending.delete(p);
    });
    this.sending.add(p);
    return p;
  }

  /** Flushes and waits for every send still in flight. */
  async close(): Promise<void> {
    await this.flush();
    await Promise.all([...this.sending]);
  }
}
