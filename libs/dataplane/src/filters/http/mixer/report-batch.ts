/**
 * Report batching off the request path (istio/proxy `report_batch.cc`): each
 * completed request's entry (a bag, or its facts without one) is written into the pending
 * ReportRequest (`ReportEncoder`: delta-encoded, shared words) and dropped, and the batch is
 * sent when 1,000 entries are waiting or 1 s after the first one. So a flush
 * only appends the words (no burst of encoding on the event loop) and no bag
 * outlives its request (bags kept for a second were promoted out of the young
 * generation and doubled GC). An entry from facts waits, as those facts, until a short run of
 * them is written back to back (`run`): paced requests each wake the proxy on cold caches, and
 * the encoder's code and tables brought in once per run cost less than once per request.
 * Failures are counted, never retried; the queue is bounded, and what does not fit is dropped
 * and counted.
 */
import { ReportEncoder, type Bag } from '@tsmesh/attributes';
import type { Clock, TimerHandle } from '@tsmesh/core';
import { addReport, type CompletionFacts, type RequestFacts, type StaticLayer } from './request-attributes';

export interface ReportBatchOptions {
  maxEntries: number;
  maxDelayMs: number;
  /** Entries kept while sends are in flight before new ones are dropped. */
  maxQueued: number;
  /**
   * Entries from facts (`addFacts`) kept as those facts until this many wait, then written in one
   * run (or at the flush). Small: facts kept across a scavenge are copied, and promoted if kept
   * across two.
   */
  run: number;
}

export const DEFAULT_REPORT_BATCH: ReportBatchOptions = {
  maxEntries: 1000,
  maxDelayMs: 1000,
  maxQueued: 10_000,
  run: 32,
};

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
  // the facts of the entries not written yet (`deferred` of them; slots past it are null, so a
  // written request's facts are not kept alive)
  private readonly requests: Array<RequestFacts | null>;
  private readonly completions: Array<CompletionFacts | null>;
  private readonly layers: Array<StaticLayer | null>;
  private deferred = 0;

  constructor(
    private readonly sink: ReportSink,
    private readonly clock: Clock,
    private readonly opts: ReportBatchOptions = DEFAULT_REPORT_BATCH,
  ) {
    const run = Math.max(1, opts.run);
    this.requests = new Array<RequestFacts | null>(run).fill(null);
    this.completions = new Array<CompletionFacts | null>(run).fill(null);
    this.layers = new Array<StaticLayer | null>(run).fill(null);
  }

  /** Entries waiting to be sent (written or not). */
  get pending(): number {
    return this.encoder.size + this.deferred;
  }

  add(bag: Bag): void {
    if (!this.room()) return;
    // the entries before it go first
    this.writeDeferred();
    this.encoder.add(bag);
    this.added();
  }

  /**
   * `addReport`'s entry, written later with the next ones (`run`): the facts must not change
   * afterwards (they are copies taken from the stream; the layer is shared and never changed).
   */
  addFacts(request: RequestFacts, completion: CompletionFacts, layer: StaticLayer): void {
    if (!this.room()) return;
    const i = this.deferred++;
    this.requests[i] = request;
    this.completions[i] = completion;
    this.layers[i] = layer;
    if (this.deferred === this.requests.length) this.writeDeferred();
    this.added();
  }

  private writeDeferred(): void {
    const n = this.deferred;
    this.deferred = 0;
    for (let i = 0; i < n; i++) {
      addReport(
        this.encoder,
        this.requests[i] as RequestFacts,
        this.completions[i] as CompletionFacts,
        this.layers[i] as StaticLayer,
      );
      this.requests[i] = null;
      this.completions[i] = null;
      this.layers[i] = null;
    }
  }

  /** Whether the queue has room for one more entry (else it is dropped and counted). */
  private room(): boolean {
    if (this.pending + this.inFlight < this.opts.maxQueued) return true;
    this.sink.onDropped(1);
    return false;
  }

  private added(): void {
    if (this.pending >= this.opts.maxEntries) void this.flush();
    else if (!this.timer) this.timer = this.clock.setTimeout(() => void this.flush(), this.opts.maxDelayMs);
  }

  /** Sends what is queued now; resolves when the send finished. */
  flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    this.writeDeferred();
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
