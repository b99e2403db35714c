import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, FakeClock, GrpcStatus, silentLogger } from '@tsmesh/core';
import { tempDir, waitFor } from '@tsmesh/testing';
import { MutableBag } from '@tsmesh/attributes';
import type { AdapterEnv, Instance } from '../runtime/types';
import { testRuntime, yamlObjects } from '../runtime/test-support';
import { denierAdapter } from './denier';
import { prometheusAdapter } from './prometheus';
import { formatEntry, stdioAdapter } from './stdio';
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
  it('records into the series of the label set, whether the dimensions object is kept or new', async () => {
    const e = env();
    const h = await prometheusAdapter.build(
      {
        metrics: [
          { name: 'c', instance_name: 'c.metric.istio-system', kind: 'COUNTER', label_names: ['svc', 'code'] },
          { name: 'd', instance_name: 'c.metric.istio-system', kind: 'COUNTER', label_names: ['svc'] },
        ],
      },
      e,
    );
    const inst = (dims: Record<string, unknown>): Instance => ({
      name: 'c.metric.istio-system',
      template: 'metric',
      fields: { value: 1, dimensions: dims as Instance['fields']['dimensions'] },
      types: {},
    });
    const a = { svc: 'a', code: 200 };
    const b = { svc: 'b', code: 503 };
    await h.handleReport?.([inst(a), inst(a), inst(b), inst(a), inst({ svc: 'a', code: 200 })]);
    await h.handleReport?.([inst(a), inst(b), inst({ svc: 'b', code: 200 })]);
    const text = await e.promRegistry.metrics();
    expect(text).toContain('istio_c{svc="a",code="200"} 5');
    expect(text).toContain('istio_c{svc="b",code="503"} 2');
    expect(text).toContain('istio_c{svc="b",code="200"} 1');
    expect(text).toContain('istio_d{svc="a"} 5');
    expect(text).toContain('istio_d{svc="b"} 3');
    // a value that is another object of the same text (bytes of an IP) and one that changes after
    // entries with the same values: each goes to the series its text names
    const ip = (last: number) => ({ svc: new Uint8Array([10, 0, 0, last]), code: 200 });
    await h.handleReport?.([inst(ip(1)), inst(ip(1)), inst(ip(2)), inst(ip(1))]);
    const after = await e.promRegistry.metrics();
    expect(after).toContain('istio_c{svc="10.0.0.1",code="200"} 3');
    expect(after).toContain('istio_c{svc="10.0.0.2",code="200"} 1');
    expect(after).toContain('istio_c{svc="a",code="200"} 5');
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

describe('stdio batches', () => {
  const now = new Date('2018-07-31T10:00:00.5Z');
  const types = { 'variables.latency': 'DURATION' } as const;
  /** Entries of one instance as Mixer builds them: most values repeat, some change, some not ASCII. */
  const batch = (n: number, from: number) => {
    const shared = { app: 'productpage', ip: new Uint8Array([10, 0, 0, 1]) };
    return Array.from({ length: n }, (_, j): Instance => {
      const i = from + j;
      const variables: Record<string, unknown> = {
        sourceApp: shared.app,
        sourceIp: shared.ip,
        url: i % 3 === 0 ? `/caf\u00e9/${i}` : i % 5 === 0 ? `/\u65e5\u672c/\ud83d\ude00` : '/a',
        responseCode: i % 4 === 0 ? 503 : 200,
        latency: i % 7,
        requestId: `id-${i}`,
        userAgent: i % 11 === 0 ? 'ag\u00eant "x"' : 'curl/8',
      };
      // now and then the same variables in another order (not the instance's usual layout)
      const ordered = i % 13 === 12 ? Object.fromEntries(Object.entries(variables).reverse()) : variables;
      return {
        name: 'accesslog.logentry.istio-system',
        template: 'logentry',
        fields: {
          severity: 'Info',
          timestamp: new Date(now.getTime() + i),
          variables: ordered as Instance['fields']['variables'],
        },
        types,
      };
    });
  };
  const expected = (insts: Instance[]) =>
    insts
      .map((inst) => {
        const v = inst.fields['variables'] as Record<string, unknown>;
        return `${JSON.stringify({
          level: 'info',
          time: (inst.fields['timestamp'] as Date).toISOString(),
          instance: inst.name,
          ...v,
          sourceIp: '10.0.0.1',
          latency: `${v['latency'] as number}ms`,
        })}\n`;
      })
      .join('');

  it('writes each batch as JSON.stringify would, ASCII or not, to stdout', async () => {
    const h = await stdioAdapter.build({ outputAsJson: true }, env());
    const chunks: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(Buffer.from(chunk).toString('utf8'));
      return true;
    });
    try {
      for (let b = 0; b < 4; b++) await h.handleReport?.(batch(40, b * 40));
    } finally {
      spy.mockRestore();
    }
    expect(chunks).toHaveLength(4);
    expect(chunks.join('')).toBe(expected(batch(160, 0)));
  });

  it('writes groups of variables kept from line to line (ASCII or not) as JSON.stringify would', async () => {
    const h = await stdioAdapter.build({ outputAsJson: true }, env());
    // 9 variables = groups of 4, 4 and 1: the first group is the same objects for runs of lines
    // (then other values, then back), the second changes on every line, the last now and then
    const shared = [
      { app: 'caf\u00e9', ns: 'd\u00e9faut', host: 'h', code: 200 },
      { app: 'plain', ns: 'default', host: 'h2', code: 503 },
    ];
    const noTypes = {};
    const insts = Array.from({ length: 60 }, (_, i): Instance => {
      const s = shared[Math.floor(i / 7) % 2];
      const variables = {
        app: s.app,
        ns: s.ns,
        host: s.host,
        code: s.code,
        id: `id-${i}`,
        url: i % 2 ? '/\u65e5' : '/a',
        size: i,
        ok: i % 3 === 0,
        reporter: i % 10 < 5 ? 'source' : 'destination',
      };
      return {
        name: 'accesslog.logentry.istio-system',
        template: 'logentry',
        fields: { severity: 'Info', timestamp: new Date(now.getTime() + i), variables },
        types: noTypes, // one object for all, as one compiled instance gives (the layout is kept per types)
      };
    });
    const chunks: Buffer[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(Buffer.from(chunk));
      return true;
    });
    try {
      await h.handleReport?.(insts.slice(0, 25));
      await h.handleReport?.(insts.slice(25));
    } finally {
      spy.mockRestore();
    }
    const want = insts
      .map((inst) => {
        const line = { level: 'info', time: (inst.fields['timestamp'] as Date).toISOString(), instance: inst.name };
        return `${JSON.stringify({ ...line, ...(inst.fields['variables'] as object) })}\n`;
      })
      .join('');
    expect(Buffer.concat(chunks).toString('utf8')).toBe(want);
  });

  it('keeps every batch whole when the stream still holds the bytes of the one before (a file)', async () => {
    const dir = await tempDir('stdio-');
    const file = join(dir.path, 'access.log');
    const h = await stdioAdapter.build({ logStream: 'FILE', outputPath: file, outputAsJson: true }, env());
    // no await in between: the file stream writes asynchronously
    for (let b = 0; b < 5; b++) void h.handleReport?.(batch(300, b * 300));
    await h.close?.();
    expect(readFileSync(file, 'utf8')).toBe(expected(batch(1500, 0)));
    await dir.cleanup();
  });
});

describe('stdio formatEntry', () => {
  /** The line as JSON.stringify writes the reference object (what formatEntry wrote before it built the text itself). */
  const reference = (inst: Instance, now: Date) => {
    const field = inst.fields['variables'] !== undefined ? 'variables' : 'dimensions';
    const out: Record<string, unknown> = { level: 'info', time: now.toISOString(), instance: inst.name };
    for (const [k, v] of Object.entries(inst.fields[field] as Record<string, unknown>)) {
      const t = inst.types[`${field}.${k}`];
      out[k] =
        t === 'DURATION' && typeof v === 'number'
          ? `${v}ms`
          : v instanceof Date
            ? v.toISOString()
            : v instanceof Uint8Array
              ? Array.from(v).join('.')
              : v;
    }
    if (inst.template === 'metric' && inst.fields['value'] !== undefined) out['value'] = inst.fields['value'];
    return JSON.stringify(out);
  };

  it('writes the same JSON as JSON.stringify of the entry, for every value type', () => {
    const now = new Date('2018-07-31T10:00:00.5Z');
    const inst: Instance = {
      name: 'accesslog.logentry.istio-system',
      template: 'logentry',
      fields: {
        variables: {
          url: '/a "quoted" \\ path\n\u0001',
          responseCode: 200,
          ratio: 0.25,
          inf: Infinity,
          mtls: false,
          latency: 1.5,
          when: new Date(5),
          sourceIp: new Uint8Array([10, 0, 0, 7]),
          headers: { 'x-a': 'b"c' },
          'we"ird key': 'x',
          '1': 'numeric key',
        },
      },
      types: { 'variables.latency': 'DURATION' },
    };
    expect(formatEntry(inst, 'INFO', true, now)).toBe(reference(inst, now));
    const metric: Instance = {
      name: 'm.metric.istio-system',
      template: 'metric',
      fields: { value: 3, dimensions: { a: 'x' } },
      types: {},
    };
    expect(formatEntry(metric, 'INFO', true, now)).toBe(reference(metric, now));
  });

  it('writes entries of one instance whose variables change names or order as JSON.stringify does', () => {
    const types = { 'variables.latency': 'DURATION' } as const;
    const entry = (variables: Record<string, unknown>): Instance => ({
      name: 'accesslog.logentry.istio-system',
      template: 'logentry',
      fields: { variables: variables as Instance['fields']['variables'] },
      types,
    });
    const now = new Date('2018-07-31T10:00:00.5Z');
    for (const vars of [
      { url: '/a', latency: 5 },
      { url: '/a', latency: 5 },
      { latency: 6, url: '/b' },
      { url: '/c' },
      { url: '/d', latency: 7, extra: 'x' },
      { url: '/e', latency: 8 },
    ])
      expect(formatEntry(entry(vars), 'INFO', true, now)).toBe(reference(entry(vars), now));
  });

  it('writes the time as toISOString does, across second boundaries and for any year', () => {
    const inst: Instance = {
      name: 'a.logentry.istio-system',
      template: 'logentry',
      fields: { variables: {} },
      types: {},
    };
    for (const ms of [
      0, 999, 1000, 1001, 1_700_000_000_999, 1_700_000_001_000, 1_700_000_001_000, 1_700_000_000_001, -1,
      253_402_300_799_999, 253_402_300_800_000,
    ])
      expect(formatEntry(inst, 'INFO', true, new Date(ms))).toBe(reference(inst, new Date(ms)));
  });

  it('lets a variable named like a fixed key win as JSON.stringify does', () => {
    const now = new Date(0);
    const inst: Instance = {
      name: 'a.logentry.istio-system',
      template: 'logentry',
      fields: { variables: { url: '/', level: 'custom' } },
      types: {},
    };
    expect(JSON.parse(formatEntry(inst, 'INFO', true, now))).toEqual({
      level: 'custom',
      time: now.toISOString(),
      instance: 'a.logentry.istio-system',
      url: '/',
    });
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
    const withIds = (ids: Record<string, string>): Instance => ({ ...span, fields: { ...span.fields, ...ids } });
    // ids that are not B3 hex ids make no span
    await h.handleReport?.([
      withIds({ trace_id: 'not-a-trace' }),
      withIds({ span_id: '' }),
      withIds({ parent_span_id: 'a2fb4a1d1a96d312a2' }),
      span,
    ]);
    expect(seen).toEqual([
      expect.objectContaining({
        traceId: '463ac35c9f6413ad',
        spanId: 'a2fb4a1d1a96d312',
        parentSpanId: '0020000000000001',
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

  /** A field of jaeger.thrift's Span in the agent's binary thrift: i64 (type 10) or i32 (type 8), then the value. */
  const thriftField = (id: number, hex: string) =>
    Buffer.concat([Buffer.from([hex.length === 8 ? 8 : 10, 0, id]), Buffer.from(hex, 'hex')]);

  it('exports spans with the B3 ids of the request and only the sampled ones (the rule matches x-b3-sampled)', async () => {
    const sock = createSocket('udp4');
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const { runtime } = testRuntime();
    try {
      expect(
        await runtime.apply(
          yamlObjects(`apiVersion: config.istio.io/v1alpha2
kind: tracespan
metadata: { name: span, namespace: istio-system }
spec:
  traceId: request.headers["x-b3-traceid"] | ""
  spanId: request.headers["x-b3-spanid"] | ""
  parentSpanId: request.headers["x-b3-parentspanid"] | ""
  spanName: request.path | "/"
  startTime: request.time
  endTime: response.time
  httpStatusCode: response.code | 0
---
apiVersion: config.istio.io/v1alpha2
kind: tracing
metadata: { name: jaeger, namespace: istio-system }
spec: { agentHost: 127.0.0.1, agentPort: ${sock.address().port}, flushInterval: 20ms }
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: sampled, namespace: istio-system }
spec:
  match: (request.headers["x-b3-sampled"] | "0") == "1"
  actions:
  - { handler: jaeger.tracing, instances: [ span.tracespan ] }
`),
        ),
      ).toEqual([]);
      const request = (path: string, b3: Record<string, string>) =>
        MutableBag.from({
          'request.path': path,
          'request.headers': b3,
          'request.time': new Date(1_700_000_000_000),
          'response.time': new Date(1_700_000_000_040),
          'response.code': 200,
        });
      await runtime.report([
        request('/not-sampled', {
          'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
          'x-b3-spanid': 'e457b5a2e4d86bd1',
          'x-b3-sampled': '0',
        }),
        request('/sampled', {
          'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
          'x-b3-spanid': '05e3ac9a4f6e3b90',
          'x-b3-parentspanid': 'e457b5a2e4d86bd1',
          'x-b3-sampled': '1',
        }),
      ]);
      await waitFor(() => got.some((m) => m.includes('/sampled')), { timeoutMs: 5000 });
      const all = Buffer.concat(got);
      expect(all.includes('/not-sampled')).toBe(false);
      // the 128-bit trace id split in its low and high halves, the span's own id, its parent, sampled
      for (const [id, hex] of [
        [1, '64fe8b2a57d3eff7'],
        [2, '80f198ee56343ba8'],
        [3, '05e3ac9a4f6e3b90'],
        [4, 'e457b5a2e4d86bd1'],
        [7, '00000001'],
      ] as const)
        expect({ id, found: all.includes(thriftField(id, hex)) }).toEqual({ id, found: true });
    } finally {
      await runtime.apply([]);
      sock.close();
    }
  });
});
