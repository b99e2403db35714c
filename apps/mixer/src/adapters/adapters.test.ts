import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, FakeClock, GrpcStatus, silentLogger } from '@tsmesh/core';
import { tempDir, waitFor } from '@tsmesh/testing';
import type { AdapterEnv, Instance } from '../runtime/types';
import { denierAdapter } from './denier';
import { prometheusAdapter } from './prometheus';
import { stdioAdapter } from './stdio';
import { tracingAdapter, tracingAdapterWith } from './tracing';
import type { SpanRecord } from './tracing/sink';

const env = (): AdapterEnv => ({
  handlerName: 'h.kind.istio-system',
  clock: new FakeClock(),
  logger: silentLogger(),
  selfRegistry: createRegistry(false),
  promRegistry: createRegistry(false),
  quotaBackendUnavailable: 'grant',
});

describe('denier', () => {
  it('answers with the configured status and cache hints', async () => {
    const h = await denierAdapter.build(
      { status: { code: 7, message: 'no' }, validDuration: '10s', validUseCount: 3 },
      env(),
    );
    expect(await h.handleCheck?.({ name: 'x', template: 'checknothing', fields: {}, types: {} })).toEqual({
      status: { code: GrpcStatus.PERMISSION_DENIED, message: 'no' },
      validDurationMs: 10_000,
      validUseCount: 3,
    });
  });
  it('accepts status codes by name and rejects nonsense', () => {
    expect(denierAdapter.validate({ status: { code: 'PERMISSION_DENIED' } })).toEqual([]);
    expect(denierAdapter.validate({ status: { code: true }, validDuration: 'x' }).map((e) => e.path)).toEqual([
      'status.code',
      'validDuration',
    ]);
  });
});

describe('prometheus', () => {
  it('builds buckets of each kind and records DURATION values in seconds', async () => {
    const e = env();
    const h = await prometheusAdapter.build(
      {
        metrics: [
          {
            name: 'lat',
            instance_name: 'lat.metric.istio-system',
            kind: 'DISTRIBUTION',
            label_names: ['svc'],
            buckets: { linearBuckets: { numFiniteBuckets: 2, width: 0.5, offset: 0 } },
          },
        ],
      },
      e,
    );
    await h.handleReport?.([
      {
        name: 'lat.metric.istio-system',
        template: 'metric',
        fields: { value: 700, dimensions: { svc: 'a' } },
        types: { value: 'DURATION' },
      },
    ]);
    const text = await e.promRegistry.metrics();
    expect(text).toContain('istio_lat_bucket{le="0.5",svc="a"} 0');
    expect(text).toContain('istio_lat_bucket{le="1",svc="a"} 1');
    expect(text).toContain('istio_lat_sum{svc="a"} 0.7');
  });
  it('reports bad params with paths', () => {
    expect(
      prometheusAdapter
        .validate({ metrics: [{ name: 'bad-name', kind: 'HISTO', instance_name: 'x' }] })
        .map((e) => e.path),
    ).toEqual(['metrics[0].name', 'metrics[0].kind']);
  });
});

describe('stdio', () => {
  it('writes logentry instances as JSON lines', async () => {
    const dir = await tempDir('stdio-');
    const file = join(dir.path, 'access.log');
    const h = await stdioAdapter.build({ logStream: 'FILE', outputPath: file, outputAsJson: true }, env());
    await h.handleReport?.([
      {
        name: 'accesslog.logentry.istio-system',
        template: 'logentry',
        fields: {
          severity: 'Info',
          timestamp: new Date('2018-07-31T10:00:00Z'),
          variables: { responseCode: 200, url: '/x' },
        },
        types: {},
      },
    ]);
    await h.close?.();
    expect(JSON.parse(readFileSync(file, 'utf8').trim())).toEqual({
      level: 'info',
      time: '2018-07-31T10:00:00.000Z',
      instance: 'accesslog.logentry.istio-system',
      responseCode: 200,
      url: '/x',
    });
    await dir.cleanup();
  });
});

describe('tracing', () => {
  const span: Instance = {
    name: 'span.tracespan.istio-system',
    template: 'tracespan',
    fields: {
      trace_id: '463ac35c9f6413ad',
      span_id: 'a2fb4a1d1a96d312',
      parent_span_id: '0020000000000001',
      span_name: 'reviews.default.svc.cluster.local:9080/*',
      start_time: new Date(1_700_000_000_000),
      end_time: new Date(1_700_000_000_250),
      span_tags: { 'http.method': 'GET' },
      http_status_code: 200,
    },
    types: {},
  };
  it('turns tracespan instances into span records', async () => {
    const seen: SpanRecord[] = [];
    const adapter = tracingAdapterWith(() => ({ report: (s) => seen.push(s), close: async () => undefined }));
    const h = await adapter.build({ serviceName: 'mesh' }, env());
    await h.handleReport?.([span]);
    expect(seen).toEqual([
      expect.objectContaining({
        traceId: '463ac35c9f6413ad',
        name: 'reviews.default.svc.cluster.local:9080/*',
        startMs: 1_700_000_000_000,
        endMs: 1_700_000_000_250,
        tags: { 'http.method': 'GET', 'http.status_code': '200' },
      }),
    ]);
  });
  it('sends spans to a Jaeger agent over UDP with jaeger-client', async () => {
    const sock = createSocket('udp4');
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const h = await tracingAdapter.build(
      { agentHost: '127.0.0.1', agentPort: sock.address().port, flushInterval: '50ms' },
      env(),
    );
    try {
      await h.handleReport?.([span]);
      await waitFor(() => got.length > 0, { timeoutMs: 5000 });
      expect(got[0].toString('latin1')).toContain('reviews.default.svc.cluster.local:9080/*');
    } finally {
      await h.close?.();
      sock.close();
    }
  });
});
