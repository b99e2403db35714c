/**
 * Per-request spans as Envoy's Zipkin tracer makes them: a SERVER span on
 * inbound (ingress) and a CLIENT span on outbound (egress), each a child of
 * the incoming B3 context (or a new root), sampled by the incoming
 * `x-b3-sampled`/`x-b3-flags`/`b3` decision or else by a configured
 * percentage (Envoy's `random_sampling`). Finished sampled spans go to the
 * exporter, which batches them off the request path.
 */
import { systemClock, systemRandom, type Clock, type Random } from '@tsmesh/core';
import { childContext, formatB3Headers, rootContext, type IncomingB3, type TraceContext } from './b3';
import type { SpanExporter, SpanKind, ZipkinEndpoint, ZipkinSpan } from './span';

export interface TracerOptions {
  serviceName: string;
  exporter: SpanExporter;
  /** Percentage (0–100) of requests without a decision that are sampled; Envoy's default is 100. */
  samplingPercent?: number;
  localEndpoint?: Omit<ZipkinEndpoint, 'serviceName'>;
  clock?: Clock;
  random?: Random;
}

export interface StartSpanOptions {
  name: string;
  kind: SpanKind;
  incoming?: IncomingB3;
  tags?: Record<string, string>;
  remoteEndpoint?: ZipkinEndpoint;
  /** Epoch milliseconds; defaults to now. */
  startMs?: number;
  /** Overrides the tracer's percentage for this span (HCM `tracing.random_sampling`). */
  samplingPercent?: number;
}

export class Span {
  private tags: Record<string, string>;
  /** No tag set yet (setTags may adopt its argument). */
  private empty: boolean;
  private finished = false;

  constructor(
    private readonly tracer: Tracer,
    readonly context: TraceContext,
    readonly name: string,
    readonly kind: SpanKind,
    readonly startMs: number,
    tags?: Record<string, string>,
    private remoteEndpoint?: ZipkinEndpoint,
  ) {
    this.tags = tags ? { ...tags } : {};
    this.empty = tags === undefined;
  }

  get sampled(): boolean {
    return this.context.sampled === true;
  }

  setTag(key: string, value: string | number | boolean): this {
    this.tags[key] = String(value);
    this.empty = false;
    return this;
  }

  /**
   * Sets several tags at once. When the span has none yet, `tags` itself becomes its tag object
   * (not copied: the caller hands it over), so a caller that builds the whole set as one object
   * literal gives the encoder an object of one fixed shape instead of one grown key by key.
   */
  setTags(tags: Record<string, string>): this {
    if (this.empty) {
      this.tags = tags;
      this.empty = false;
    } else Object.assign(this.tags, tags);
    return this;
  }

  setRemoteEndpoint(endpoint: ZipkinEndpoint): this {
    this.remoteEndpoint = endpoint;
    return this;
  }

  /** Headers that carry this span's context to the next hop. */
  headers(): Record<string, string> {
    return formatB3Headers(this.context);
  }

  /** Ends the span (once) and hands it to the exporter if sampled. */
  finish(endMs?: number): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.sampled) return;
    const end = endMs ?? this.tracer.clock.now();
    this.tracer.record(this.toZipkin(end));
  }

  toZipkin(endMs: number): ZipkinSpan {
    const span: ZipkinSpan = {
      traceId: this.context.traceId,
      id: this.context.spanId,
      name: this.name,
      kind: this.kind,
      timestamp: Math.round(this.startMs * 1000),
      duration: Math.max(1, Math.round((endMs - this.startMs) * 1000)),
      localEndpoint: this.tracer.localEndpoint,
      tags: this.tags,
    };
    if (this.context.parentSpanId) span.parentId = this.context.parentSpanId;
    if (this.remoteEndpoint) span.remoteEndpoint = this.remoteEndpoint;
    if (this.context.debug) span.debug = true;
    return span;
  }
}

export class Tracer {
  readonly clock: Clock;
  readonly localEndpoint: ZipkinEndpoint;
  private readonly random: Random;
  private readonly samplingPercent: number;

  constructor(private readonly options: TracerOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.samplingPercent = options.samplingPercent ?? 100;
    this.localEndpoint = { serviceName: options.serviceName, ...(options.localEndpoint ?? {}) };
  }

  /** Starts a span that is a child of the incoming context, or a new root. */
  startSpan(opts: StartSpanOptions): Span {
    const incoming = opts.incoming ?? {};
    const sampled =
      incoming.sampled ?? (incoming.debug ? true : this.decide(opts.samplingPercent ?? this.samplingPercent));
    let ctx: TraceContext;
    if (incoming.context) {
      ctx = childContext(incoming.context, this.random);
      ctx.sampled = sampled;
    } else ctx = rootContext(this.random, sampled);
    if (incoming.debug) ctx.debug = true;
    return new Span(this, ctx, opts.name, opts.kind, opts.startMs ?? this.clock.now(), opts.tags, opts.remoteEndpoint);
  }

  /** @internal called by Span.finish */
  record(span: ZipkinSpan): void {
    try {
      this.options.exporter.export(span);
    } catch {
      // An exporter must not throw; if one does, the request still completes.
    }
  }

  flush(): Promise<void> {
    return this.options.exporter.flush();
  }

  shutdown(): Promise<void> {
    return this.options.exporter.shutdown();
  }

  private decide(percent: number): boolean {
    if (percent >= 100) return true;
    if (percent <= 0) return false;
    return this.random.next() * 100 < percent;
  }
}
