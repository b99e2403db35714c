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

/** B3 ids are hex: trace ids of 64 or 128 bits, span ids of 64 (a malformed header yields no span). */
const isHexId = (v: unknown, maxDigits: number) =>
  typeof v === 'string' && v.length > 0 && v.length <= maxDigits && /^[0-9a-f]+$/i.test(v);

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
            const parent = f['parent_span_id'] ?? '';
            if (!isHexId(f['trace_id'], 32) || !isHexId(f['span_id'], 16) || (parent !== '' && !isHexId(parent, 16)))
              continue;
            const tags: Record<string, string> = {};
            for (const [k, v] of Object.entries((f['span_tags'] ?? {}) as Record<string, AttributeValue>))
              tags[k] = valueText(v);
            if (f['http_status_code'] !== undefined) tags['http.status_code'] = String(f['http_status_code']);
            sink.report({
              traceId: String(f['trace_id']),
              spanId: String(f['span_id']),
              parentSpanId: String(parent),
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
