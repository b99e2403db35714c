import { FakeClock, SeededRandom } from '@tsmesh/core';
import { InMemoryExporter, Tracer } from '@tsmesh/telemetry';
import type { HttpStreamContext } from '../filters/types';
import type { StreamInfo } from '../http/stream-info';
import { tracingFilterFactory, TRACING_FILTER_TYPE } from './tracing-filter';

function ctx(headers: Record<string, string>): HttpStreamContext {
  const info = {
    protocol: 'HTTP/1.1',
    responseCode: 503,
    bytesReceived: 0,
    bytesSent: 19,
    responseFlags: ['UH'],
    upstreamCluster: 'outbound|9080||reviews',
  } as unknown as StreamInfo;
  return {
    method: 'GET',
    scheme: 'http',
    authority: 'reviews:9080',
    path: '/reviews/1?x=1',
    headers,
    route: { decoratorOperation: 'reviews.default.svc.cluster.local:9080/*' },
    info,
  } as unknown as HttpStreamContext;
}

describe('tracing filter', () => {
  const clock = new FakeClock();
  const exporter = new InMemoryExporter();
  const tracer = new Tracer({ serviceName: 'productpage', exporter, clock, random: new SeededRandom(3) });
  const factory = tracingFilterFactory(tracer);

  it('starts a client span as a child of the incoming B3 context, rewrites B3 and records Envoy tags', () => {
    const errors: { path: string; message: string }[] = [];
    const config = factory.parseConfig(
      { '@type': TRACING_FILTER_TYPE, kind: 'CLIENT', node_id: 'sidecar~1' },
      'f',
      errors,
    );
    expect(errors).toEqual([]);
    const filter = factory.create(config, {} as never)();
    const c = ctx({
      'x-b3-traceid': '463ac35c9f6413ad',
      'x-b3-spanid': 'a2fb4a1d1a96d312',
      b3: 'junk',
      'x-request-id': 'rid-1',
    });
    filter.onRequest?.(c);
    expect(c.headers['b3']).toBeUndefined();
    expect(c.headers['x-b3-traceid']).toBe('463ac35c9f6413ad');
    expect(c.headers['x-b3-parentspanid']).toBe('a2fb4a1d1a96d312');
    clock.advance(5);
    filter.onComplete?.(c);
    expect(exporter.spans).toHaveLength(1);
    expect(exporter.spans[0]).toMatchObject({
      name: 'reviews.default.svc.cluster.local:9080/*',
      kind: 'CLIENT',
      parentId: 'a2fb4a1d1a96d312',
      id: c.headers['x-b3-spanid'],
      duration: 5000,
      tags: {
        'http.status_code': '503',
        response_flags: 'UH',
        error: 'true',
        'guid:x-request-id': 'rid-1',
        upstream_cluster: 'outbound|9080||reviews',
      },
    });
  });

  it('rejects a bad sampling percentage', () => {
    const errors: { path: string; message: string }[] = [];
    factory.parseConfig({ sampling_percent: 150 }, 'f', errors);
    expect(errors[0].path).toBe('f.sampling_percent');
  });
});
