/**
 * Report batching off the request path (istio/proxy `report_batch.cc`): each
 * completed request's entry is written into the pending ReportRequest
 * (`ReportEncoder`: delta-encoded, shared words), and the batch is sent when
 * 1,000 entries are waiting or 1 s after the first one. Entries are written in
 * runs of `writeEvery` (see `defer`), not all at the flush: bags or facts kept
 * for a second were promoted out of the young generation and doubled GC, and a
 * flush that only appends the words puts no burst of encoding on the event loop.
 * Failures are counted, never retried; the queue is bounded, and what does not
 * fit is dropped and counted.
 */
import { ReportEncoder, type Bag } from '@tsmesh/attributes';
import type { Clock, TimerHandle } from '@tsmesh/core';

export interface ReportBatchOptions {
  maxEntries: number;
  maxDelayMs: number;
  /** Entries kept while sends are in flight before new ones are dropped. */
  maxQueued: number;
  /**
   * Deferred entries (`defer`) kept as facts until this many wait, then written in one loop (and
   * at every flush).
   */
  writeEvery: number;
}

export const DEFAULT_REPORT_BATCH: ReportBatchOptions = {
  maxEntries: 1000,
  maxDelayMs: 1000,
  maxQueued: 10_000,
  writeEvery: 100,
};

/** An entry whose bag is built only when it is written (`ReportBatcher.defer`). */
export interface PendingReport {
  /** The entry's bag; called once, and the bag is not changed afterwards. */
  reportBag(): Bag;
}

export interface ReportSink {
  /** `req`: ReportRequest bytes. */
  send(req: Buffer): Promise<void>;
  onSent(ok: boolean, entries: number): void;
  onDropped(entries: number): void;
}

export class ReportBatcher {
  private readonly encoder = new ReportEncoder();
  private timer: TimerHandle | null = null;
  private inFlight = 0;
  private readonly sending = new Set<Promise<void>>();
  private deferred: PendingReport[] = [];

  constructor(
    private readonly sink: ReportSink,
    private readonly clock: Clock,
    private readonly opts: ReportBatchOptions = DEFAULT_REPORT_BATCH,
  ) {}

  /** Entries added and not yet sent (written or deferred). */
  get pending(): number {
    return this.encoder.size + this.deferred.length;
  }

  /** Writes `bag` as the next entry now. */
  add(bag: Bag): void {
    if (this.pending + this.inFlight >= this.opts.maxQueued) {
      this.sink.onDropped(1);
      return;
    }
    if (this.deferred.length > 0) this.writeDeferred(); // entries keep their order
    this.encoder.add(bag);
    this.added();
  }

  /**
   * Queues an entry whose bag is built and written later, together with the next ones
   * (`writeEvery`, or the flush). The request path then only copies a few values out of the
   * stream; building and encoding a run of entries in one loop costs less than one at a time
   * between requests, when the code and data it touches have gone cold. Fewer entries wait than
   * survive a young-generation collection at the default rate, so they mostly die young.
   */
  defer(entry: PendingReport): void {
    if (this.pending + this.inFlight >= this.opts.maxQueued) {
      this.sink.onDropped(1);
      return;
    }
    this.deferred.push(entry);
    if (this.deferred.length >= this.opts.writeEvery) this.writeDeferred();
    this.added();
  }

  private added(): void {
    if (this.pending >= this.opts.maxEntries) void this.flush();
    else if (!this.timer) this.timer = this.clock.setTimeout(() => void this.flush(), this.opts.maxDelayMs);
  }

  private writeDeferred(): void {
    const q = this.deferred;
    this.deferred = [];
    for (let i = 0; i < q.length; i++) {
      let bag: Bag;
      try {
        bag = q[i].reportBag();
      } catch {
        // facts that cannot make a bag are a bug; the entry is counted as dropped, not thrown
        // into whichever request happened to complete the run
        this.sink.onDropped(1);
        continue;
      }
      this.encoder.add(bag);
    }
  }

  /** Sends what is queued now; resolves when the send finished. */
  flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    if (this.deferred.length > 0) this.writeDeferred();
    const n = this.encoder.size;
    if (n === 0) return Promise.resolve();
    this.inFlight += n;
    const reqs = this.encoder.finish();
    const p = Promise.all(
      reqs.map((r) =>
        this.sink.send(r.bytes).then(
          () => this.sink.onSent(true, r.entries),
          () => this.sink.onSent(false, r.entries),
        ),
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
