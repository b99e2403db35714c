/**
 * Per-request tracing as Envoy's HCM `tracing` + Zipkin tracer do it, packaged as an HTTP filter
 * the proxy puts first in each connection manager's chain (see local-rewrite.ts): on request
 * headers it starts a span (SERVER on inbound listeners, CLIENT on outbound ones) as a child of
 * the incoming B3 context, rewrites the B3 headers so the next hop sees this span as its parent,
 * and on completion tags it with Envoy's tag names and hands it to the tracer's exporter.
 */
import type { FieldError } from '@tsmesh/core';
import { parseB3, writeB3Headers, type SpanKind, type Tracer } from '@tsmesh/telemetry';
import type { Msg } from '../engine/types';
import type { HttpFilter, HttpFilterFactory, HttpStreamContext } from '../filters/types';

export const TRACING_FILTER_NAME = 'tsmesh.filters.http.tracing';
export const TRACING_FILTER_TYPE = 'type.googleapis.com/tsmesh.filters.http.tracing.v1.Tracing';

export interface TracingFilterConfig {
  kind: SpanKind;
  /** HCM `tracing.random_sampling` (percent); undefined = the tracer's default. */
  samplingPercent?: number;
  nodeId: string;
}

function header(ctx: HttpStreamContext, name: string): string | undefined {
  const v = ctx.headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0] : String(v);
}

type Span = ReturnType<Tracer['startSpan']>;

/** One stream's filter (a class, so a request allocates one object and no closures). */
class TracingStreamFilter implements HttpFilter {
  private span: Span | undefined;

  constructor(
    private readonly tracer: Tracer,
    private readonly config: TracingFilterConfig,
  ) {}

  onRequest(ctx: HttpStreamContext): void {
    const incoming = parseB3(ctx.headers as Record<string, string | string[] | undefined>);
    let name = ctx.route?.decoratorOperation;
    if (name === undefined) {
      const q = ctx.path.indexOf('?');
      name = `${ctx.authority}${q < 0 ? ctx.path : ctx.path.slice(0, q)}`;
    }
    const span = this.tracer.startSpan({
      name,
      kind: this.config.kind,
      incoming,
      samplingPercent: this.config.samplingPercent,
    });
    this.span = span;
    writeB3Headers(ctx.headers, span.context);
  }

  onComplete(ctx: HttpStreamContext): void {
    const span = this.span;
    if (!span) return;
    this.span = undefined;
    // Unsampled spans are never exported: skip building their tags.
    if (!span.sampled) return span.finish();
    const info = ctx.info;
    // Envoy's tags, built as one object literal (one shape, no per-tag call); the status code is
    // the stream's final one, so no tag is needed when response headers pass.
    const tags: Record<string, string> = {
      component: 'proxy',
      node_id: this.config.nodeId,
      'http.method': ctx.method,
      'http.url': `${ctx.scheme}://${ctx.authority}${ctx.path}`,
      'http.protocol': info.protocol,
      'http.status_code': String(info.responseCode),
      request_size: String(info.bytesReceived),
      response_size: String(info.bytesSent),
      response_flags: info.responseFlags.length ? info.responseFlags.join(',') : '-',
      upstream_cluster: info.upstreamCluster ?? '-',
    };
    const rid = header(ctx, 'x-request-id');
    if (rid) tags['guid:x-request-id'] = rid;
    const ua = header(ctx, 'user-agent');
    if (ua) tags['user_agent'] = ua;
    if (info.responseCode >= 500 || info.responseCode === 0) tags['error'] = 'true';
    span.setTags(tags).finish();
  }
}

export function tracingFilterFactory(tracer: Tracer): HttpFilterFactory<TracingFilterConfig> {
  return {
    name: TRACING_FILTER_NAME,
    typeUrls: [TRACING_FILTER_TYPE],
    parseConfig(typed: Msg, path: string, errors: FieldError[]): TracingFilterConfig {
      const kind = typed['kind'] === 'CLIENT' ? 'CLIENT' : 'SERVER';
      const p = typed['sampling_percent'];
      if (p !== undefined && !(typeof p === 'number' && p >= 0 && p <= 100)) {
        errors.push({ path: `${path}.sampling_percent`, message: 'must be a percentage 0..100' });
      }
      return { kind, samplingPercent: typeof p === 'number' ? p : undefined, nodeId: String(typed['node_id'] ?? '') };
    },
    create(config) {
      return (): HttpFilter => new TracingStreamFilter(tracer, config);
    },
  };
}
