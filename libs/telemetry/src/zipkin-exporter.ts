/**
 * Zipkin v2 JSON exporter: spans are queued (bounded; overflow is dropped and
 * counted, never blocks), and POSTed as a JSON array to the collector
 * (`/api/v2/spans`) when `minFlushSpans` are queued or every `flushIntervalMs`
 * (Envoy's zipkin tracer: `min_flush_spans` 5, flush interval 5 s). One POST
 * is in flight at a time; failures are counted and the batch is dropped.
 * Stat names follow Envoy's `tracing.zipkin.*`.
 */
import http from 'node:http';
import { systemClock, type Clock, type TimerHandle } from '@tsmesh/core';
import type { SpanExporter, ZipkinSpan } from './span';

export interface ZipkinExporterOptions {
  /** Collector address `host:port` or a full `http://host:port/path` URL. */
  collector: string;
  /** Used when `collector` is `host:port`; Envoy's `collector_endpoint`. */
  path?: string;
  minFlushSpans?: number;
  flushIntervalMs?: number;
  maxQueue?: number;
  /** Per-POST timeout. */
  timeoutMs?: number;
  clock?: Clock;
  /** Called on every counter change (to mirror them into a proxy's stats store). */
  onCount?: (stat: keyof ZipkinExporterStats, by: number) => void;
}

export interface ZipkinExporterStats {
  'tracing.zipkin.spans_sent': number;
  'tracing.zipkin.spans_dropped': number;
  'tracing.zipkin.reports_sent': number;
  'tracing.zipkin.reports_failed': number;
  'tracing.zipkin.timer_flushed': number;
}

/** Parses `host:port` or `http://host:port/path` into an http URL. */
export function collectorUrl(collector: string, path = '/api/v2/spans'): URL {
  if (/^https?:\/\//.test(collector)) return new URL(collector);
  return new URL(`http://${collector}${path.startsWith('/') ? path : `/${path}`}`);
}

export class ZipkinExporter implements SpanExporter {
  private readonly url: URL;
  private readonly minFlushSpans: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly timer: TimerHandle;
  private queue: ZipkinSpan[] = [];
  private inflight: Promise<void> | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private stopped = false;
  private readonly onCount?: ZipkinExporterOptions['onCount'];
  private readonly counters: ZipkinExporterStats = {
    'tracing.zipkin.spans_sent': 0,
    'tracing.zipkin.spans_dropped': 0,
    'tracing.zipkin.reports_sent': 0,
    'tracing.zipkin.reports_failed': 0,
    'tracing.zipkin.timer_flushed': 0,
  };

  constructor(options: ZipkinExporterOptions) {
    this.url = collectorUrl(options.collector, options.path);
    this.minFlushSpans = Math.max(1, options.minFlushSpans ?? 5);
    this.maxQueue = Math.max(1, options.maxQueue ?? 1000);
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.onCount = options.onCount;
    const clock = options.clock ?? systemClock;
    this.timer = clock.setInterval(() => {
      if (this.queue.length === 0) return;
      this.count('tracing.zipkin.timer_flushed', 1);
      void this.flush();
    }, options.flushIntervalMs ?? 5000);
  }

  private count(stat: keyof ZipkinExporterStats, by: number): void {
    this.counters[stat] += by;
    this.onCount?.(stat, by);
  }

  stats(): ZipkinExporterStats {
    return { ...this.counters };
  }

  queued(): number {
    return this.queue.length;
  }

  export(span: ZipkinSpan): void {
    if (this.stopped || this.queue.length >= this.maxQueue) {
      this.count('tracing.zipkin.spans_dropped', 1);
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.minFlushSpans && !this.immediate) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        void this.flush();
      });
    }
  }

  async flush(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.inflight) {
        await this.inflight;
        continue;
      }
      const batch = this.queue.splice(0, Math.max(this.minFlushSpans, 100));
      this.inflight = this.post(batch).finally(() => (this.inflight = undefined));
      await this.inflight;
    }
    if (this.inflight) await this.inflight;
  }

  async shutdown(): Promise<void> {
    this.timer.cancel();
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    await this.flush();
    this.stopped = true;
    this.agent.destroy();
  }

  private post(batch: ZipkinSpan[]): Promise<void> {
    const body = Buffer.from(JSON.stringify(batch));
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        if (ok) {
          this.count('tracing.zipkin.reports_sent', 1);
          this.count('tracing.zipkin.spans_sent', batch.length);
        } else {
          this.count('tracing.zipkin.reports_failed', 1);
          this.count('tracing.zipkin.spans_dropped', batch.length);
        }
        resolve();
      };
      const req = http.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
          timeout: this.timeoutMs,
        },
        (res) => {
          res.resume();
          res.on('end', () => finish((res.statusCode ?? 500) < 300));
          res.on('error', () => finish(false));
        },
      );
      req.on('timeout', () => req.destroy(new Error('zipkin collector timeout')));
      req.on('error', () => finish(false));
      req.end(body);
    });
  }
}
