import { FakeClock, SequenceRandom, SeededRandom } from '@tsmesh/core';
import { parseB3 } from './b3';
import { InMemoryExporter } from './span';
import { Tracer } from './tracer';

function setup(samplingPercent = 100) {
  const clock = new FakeClock(1_700_000_000_000);
  const exporter = new InMemoryExporter();
  const tracer = new Tracer({
    serviceName: 'reviews.default',
    exporter,
    clock,
    random: new SeededRandom(1),
    samplingPercent,
  });
  return { clock, exporter, tracer };
}

describe('Tracer', () => {
  it('records a server span as the child of the incoming context', () => {
    const { clock, exporter, tracer } = setup();
    const incoming = parseB3({
      'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124',
      'x-b3-spanid': 'a2fb4a1d1a96d312',
      'x-b3-sampled': '1',
    });
    const span = tracer.startSpan({ name: 'reviews:9080/*', kind: 'SERVER', incoming });
    span.setTag('http.status_code', 200);
    clock.advance(12);
    span.finish();
    span.finish();
    expect(exporter.spans).toHaveLength(1);
    const z = exporter.spans[0];
    expect(z.traceId).toBe('463ac35c9f6413ad48485a3953bb6124');
    expect(z.parentId).toBe('a2fb4a1d1a96d312');
    expect(z.id).not.toBe('a2fb4a1d1a96d312');
    expect(z.kind).toBe('SERVER');
    expect(z.timestamp).toBe(1_700_000_000_000_000);
    expect(z.duration).toBe(12_000);
    expect(z.localEndpoint).toEqual({ serviceName: 'reviews.default' });
    expect(z.tags).toEqual({ 'http.status_code': '200' });
  });

  it('setTags adopts a first tag set and merges into existing tags', () => {
    const { exporter, tracer } = setup();
    const a = tracer.startSpan({ name: 'a', kind: 'SERVER' });
    a.setTags({ component: 'proxy', 'http.status_code': '200' }).finish();
    const b = tracer.startSpan({ name: 'b', kind: 'SERVER', tags: { peer: 'x' } });
    b.setTag('error', true).setTags({ component: 'proxy', peer: 'y' }).finish();
    expect(exporter.spans.map((s) => s.tags)).toEqual([
      { component: 'proxy', 'http.status_code': '200' },
      { peer: 'y', error: 'true', component: 'proxy' },
    ]);
  });

  it('propagates its own span id to the next hop', () => {
    const { tracer } = setup();
    const span = tracer.startSpan({ name: 'out', kind: 'CLIENT' });
    const h = span.headers();
    expect(h['x-b3-traceid']).toBe(span.context.traceId);
    expect(h['x-b3-spanid']).toBe(span.context.spanId);
    expect(h['x-b3-sampled']).toBe('1');
    expect(h['x-b3-parentspanid']).toBeUndefined();
  });

  it('obeys an incoming "not sampled" decision', () => {
    const { exporter, tracer } = setup();
    const span = tracer.startSpan({ name: 'x', kind: 'SERVER', incoming: parseB3({ 'x-b3-sampled': '0' }) });
    span.finish();
    expect(span.sampled).toBe(false);
    expect(span.headers()['x-b3-sampled']).toBe('0');
    expect(exporter.spans).toHaveLength(0);
  });

  it('samples by percentage when the request carries no decision', () => {
    const clock = new FakeClock();
    const exporter = new InMemoryExporter();
    // draws: 0.2 -> 20 < 50 sampled, then 6 for the ids (4 trace + 2 span); 0.9 -> 90 >= 50 not sampled
    const tracer = new Tracer({
      serviceName: 's',
      exporter,
      clock,
      samplingPercent: 50,
      random: new SequenceRandom([0.2, ...Array(6).fill(0.3), 0.9, ...Array(6).fill(0.3)]),
    });
    expect(tracer.startSpan({ name: 'a', kind: 'SERVER' }).sampled).toBe(true);
    expect(tracer.startSpan({ name: 'b', kind: 'SERVER' }).sampled).toBe(false);
  });

  it('a throwing exporter does not break the request', () => {
    const tracer = new Tracer({
      serviceName: 's',
      exporter: {
        export: () => {
          throw new Error('boom');
        },
        flush: async () => undefined,
        shutdown: async () => undefined,
      },
    });
    const span = tracer.startSpan({ name: 'a', kind: 'CLIENT' });
    expect(() => span.finish()).not.toThrow();
  });
});
