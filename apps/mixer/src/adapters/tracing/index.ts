/**
 * `tracing` adapter: tracespan instances → a SpanSink (Jaeger agent by
 * default). Istio 1.0 had no Jaeger Mixer adapter (Envoy sent spans itself);
 * this one exists so Mixer-era configs with a tracespan template have a home.
 */
import { valueText, type AttributeValue } from '@tsmesh/attributes';
import { ParamReader } from '../params';
import type { AdapterInfo } from '../../runtime/types';
import { JaegerSink, type SpanSink } from './sink';

function read(params: Record<string, unknown>) {
  const r = new ParamReader(params);
  const agentHost = r.string('agentHost', '127.0.0.1');
  const agentPort = r.int('agentPort', 6832, 1);
  const serviceName = r.string('serviceName', 'mesh');
  const flushIntervalMs = r.duration('flushInterval', 1000);
  return { r, agentHost, agentPort, serviceName, flushIntervalMs };
}

const timeOf = (v: unknown) => (v instanceof Date ? v.getTime() : Number(v));

/** Builds the adapter over any sink (tests pass their own). */
export function tracingAdapterWith(makeSink: (p: ReturnType<typeof read>) => SpanSink): AdapterInfo {
  return {
    name: 'tracing',
    templates: ['tracespan'],
    validate: (params) => read(params).r.errors,
    build(params) {
      const p = read(params);
      const sink = makeSink(p);
      return {
        handleReport(instances) {
          for (const inst of instances) {
            const f = inst.fields;
            const tags: Record<string, string> = {};
            for (const [k, v] of Object.entries((f['span_tags'] ?? {}) as Record<string, AttributeValue>))
              tags[k] = valueText(v);
            if (f['http_status_code'] !== undefined) tags['http.status_code'] = String(f['http_status_code']);
            if (!f['trace_id'] || !f['span_id']) continue;
            sink.report({
              traceId: String(f['trace_id']),
              spanId: String(f['span_id']),
              parentSpanId: String(f['parent_span_id'] ?? ''),
              name: String(f['span_name']),
              startMs: timeOf(f['start_time']),
              endMs: timeOf(f['end_time']),
              tags,
              serviceName: tags['service'] ?? tags['destination.service'] ?? p.serviceName,
            });
          }
        },
        close: () => sink.close(),
      };
    },
  };
}

export const tracingAdapter = tracingAdapterWith((p) => new JaegerSink(p.agentHost, p.agentPort, p.flushIntervalMs));
