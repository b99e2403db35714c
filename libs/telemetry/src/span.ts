/**
 * A finished span in Zipkin's v2 JSON model (zipkin2 `Span`: traceId, id,
 * parentId, name, kind, timestamp and duration in microseconds,
 * localEndpoint, remoteEndpoint, tags, debug, shared). Jaeger's collector
 * accepts the same JSON on its Zipkin port (9411).
 */
export type SpanKind = 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER';

export interface ZipkinEndpoint {
  serviceName?: string;
  ipv4?: string;
  ipv6?: string;
  port?: number;
}

export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind?: SpanKind;
  /** Epoch microseconds. */
  timestamp: number;
  /** Microseconds, at least 1. */
  duration: number;
  localEndpoint?: ZipkinEndpoint;
  remoteEndpoint?: ZipkinEndpoint;
  tags?: Record<string, string>;
  debug?: boolean;
  shared?: boolean;
}

/** Receives finished spans. Must never block or throw (it is called at the end of a request). */
export interface SpanExporter {
  export(span: ZipkinSpan): void;
  /** Sends what is queued; resolves when done (or failed). */
  flush(): Promise<void>;
  /** Flushes and stops timers. */
  shutdown(): Promise<void>;
}

/** Keeps spans in memory (tests, `/debug` views). */
export class InMemoryExporter implements SpanExporter {
  readonly spans: ZipkinSpan[] = [];
  export(span: ZipkinSpan): void {
    this.spans.push(span);
  }
  async flush(): Promise<void> {
    /* nothing queued */
  }
  async shutdown(): Promise<void> {
    /* nothing to stop */
  }
}
