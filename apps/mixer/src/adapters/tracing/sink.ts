/** Where the tracing adapter sends spans: a small interface, with a jaeger-client implementation. */
import * as jaeger from 'jaeger-client';
import type { JaegerTracer } from 'jaeger-client';

// The typings omit SpanContext, which the package exports.
const SpanContext = (jaeger as unknown as { SpanContext: { fromString(s: string): object | null } }).SpanContext;
const initTracer = jaeger.initTracer;

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
    const tracer = this.tracer(s.serviceName);
    const parent = SpanContext.fromString(`${s.traceId}:${s.parentSpanId || s.spanId}:0:1`);
    const span = tracer.startSpan(s.name, {
      startTime: s.startMs,
      ...(parent ? { childOf: parent as never } : {}),
      tags: s.tags,
    });
    span.finish(s.endMs);
  }

  async close(): Promise<void> {
    await Promise.all([...this.tracers.values()].map((t) => new Promise<void>((resolve) => t.close(() => resolve()))));
    this.tracers.clear();
  }
}
