/** Where the tracing adapter sends spans: a small interface, with a jaeger-client implementation. */
import * as jaeger from 'jaeger-client';
import type { JaegerTracer } from 'jaeger-client';

// The typings omit SpanContext and Span, which the package exports.
const { SpanContext, Span } = jaeger as unknown as {
  SpanContext: { withStringIds(traceId: string, spanId: string, parentId: string | null, flags: number): object };
  Span: new (
    tracer: JaegerTracer,
    operationName: string,
    context: object,
    startTime: number,
  ) => { addTags(tags: Record<string, string>): void; finish(endTime: number): void };
};
const initTracer = jaeger.initTracer;
/** Jaeger's flags bit for a sampled span: spans reach the sink only when the config chose to trace them. */
const SAMPLED = 1;

export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  startMs: number;
  endMs: number;
  tags: Record<string, string>;
  serviceName: string;
}

export interface SpanSink {
  report(span: SpanRecord): void;
  close(): Promise<void>;
}

/** Sends spans to a Jaeger agent over UDP (compact thrift) with jaeger-client's RemoteReporter. */
export class JaegerSink implements SpanSink {
  private readonly tracers = new Map<string, JaegerTracer>();
  constructor(
    private readonly agentHost: string,
    private readonly agentPort: number,
    private readonly flushIntervalMs = 1000,
  ) {}

  private tracer(service: string): JaegerTracer {
    let t = this.tracers.get(service);
    if (!t) {
      t = initTracer(
        {
          serviceName: service,
          sampler: { type: 'const', param: 1 },
          reporter: { agentHost: this.agentHost, agentPort: this.agentPort, flushIntervalMs: this.flushIntervalMs },
        },
        { logger: { info: () => undefined, error: () => undefined } },
      );
      this.tracers.set(service, t);
    }
    return t;
  }

  report(s: SpanRecord): void {
    // the span keeps the request's own ids: tracer.startSpan would make it a child with a new span id
    const context = SpanContext.withStringIds(s.traceId, s.spanId, s.parentSpanId || null, SAMPLED);
    const span = new Span(this.tracer(s.serviceName), s.name, context, s.startMs);
    span.addTags(s.tags);
    span.finish(s.endMs);
  }

  async close(): Promise<void> {
    await Promise.all([...this.tracers.values()].map((t) => new Promise<void>((resolve) => t.close(() => resolve()))));
    this.tracers.clear();
  }
}
