import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '@tsmesh/core';
import type { ZipkinSpan } from './span';
import { ZipkinExporter, collectorUrl } from './zipkin-exporter';

const span = (id: string): ZipkinSpan => ({
  traceId: 'a'.repeat(32),
  id,
  name: 'n',
  kind: 'SERVER',
  timestamp: 1,
  duration: 1,
});

describe('ZipkinExporter', () => {
  let server: http.Server;
  let received: Array<{ path: string; body: ZipkinSpan[] }> = [];
  let status = 202;
  let address = '';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString()) });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    received = [];
    status = 202;
  });

  it('batches spans into one POST of a JSON array on flush', async () => {
    const exporter = new ZipkinExporter({ collector: address, minFlushSpans: 10, clock: new FakeClock() });
    exporter.export(span('0000000000000001'));
    exporter.export(span('0000000000000002'));
    expect(received).toHaveLength(0);
    await exporter.flush();
    expect(received).toEqual([{ path: '/api/v2/spans', body: [span('0000000000000001'), span('0000000000000002')] }]);
    expect(exporter.stats()['tracing.zipkin.spans_sent']).toBe(2);
    await exporter.shutdown();
  });

  it('flushes on the timer', async () => {
    const clock = new FakeClock();
    const exporter = new ZipkinExporter({ collector: address, minFlushSpans: 10, flushIntervalMs: 1000, clock });
    exporter.export(span('0000000000000003'));
    clock.advance(1000);
    await exporter.flush();
    expect(exporter.stats()['tracing.zipkin.timer_flushed']).toBe(1);
    expect(received.flatMap((r) => r.body.map((s) => s.id))).toEqual(['0000000000000003']);
    await exporter.shutdown();
  });

  it('reports once minFlushSpans are queued, at most once per minReportIntervalMs', async () => {
    const clock = new FakeClock();
    const exporter = new ZipkinExporter({ collector: address, minFlushSpans: 2, minReportIntervalMs: 100, clock });
    exporter.export(span('0000000000000011'));
    clock.advance(0);
    expect(exporter.queued()).toBe(1);
    exporter.export(span('0000000000000012'));
    clock.advance(0); // due now: nothing was reported before
    expect(exporter.queued()).toBe(0);
    await exporter.flush();
    expect(received.map((r) => r.body.map((s) => s.id))).toEqual([['0000000000000011', '0000000000000012']]);
    for (const id of ['13', '14', '15']) exporter.export(span(`00000000000000${id}`));
    clock.advance(99);
    expect(exporter.queued()).toBe(3); // due, but within 100 ms of the previous report
    clock.advance(1);
    expect(exporter.queued()).toBe(0);
    await exporter.flush();
    expect(received.map((r) => r.body.length)).toEqual([2, 3]);
    expect(exporter.stats()['tracing.zipkin.reports_sent']).toBe(2);
    await exporter.shutdown();
  });

  it('sends the JSON.stringify bytes of each span, in order, across buffer growth and non-ASCII text', async () => {
    const bodies: Buffer[] = [];
    const raw = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks));
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    const exporter = new ZipkinExporter({
      collector: `127.0.0.1:${(raw.address() as AddressInfo).port}`,
      minFlushSpans: 1000,
      maxBatch: 150,
      clock: new FakeClock(),
    });
    const spans = Array.from({ length: 200 }, (_, i) => ({
      ...span(i.toString(16).padStart(16, '0')),
      // 200 spans of ~400 bytes outgrow the first 16 KiB buffer several times.
      tags: {
        'http.url': `http://a/${'x'.repeat(300)}/${i}`,
        user_agent: 'naïve ☃ "q" \\ \u0001 \ud83d',
        n: String(i),
      },
    }));
    for (const s of spans) exporter.export(s);
    expect(exporter.queued()).toBe(200);
    await exporter.flush();
    expect(exporter.queued()).toBe(0);
    const expected = [spans.slice(0, 150), spans.slice(150)].map((b) =>
      Buffer.from(`[${b.map((s) => JSON.stringify(s)).join(',')}]`),
    );
    expect(bodies).toEqual(expected);
    expect(exporter.stats()['tracing.zipkin.spans_sent']).toBe(200);
    await exporter.shutdown();
    await new Promise<void>((r) => raw.close(() => r()));
  });

  it('sends at most maxBatch spans per POST', async () => {
    const exporter = new ZipkinExporter({
      collector: address,
      minFlushSpans: 100,
      maxBatch: 2,
      clock: new FakeClock(),
    });
    for (let i = 1; i <= 5; i++) exporter.export(span(`000000000000002${i}`));
    await exporter.flush();
    expect(received.map((r) => r.body.length)).toEqual([2, 2, 1]);
    await exporter.shutdown();
  });

  it('drops spans beyond the bounded queue and counts them', async () => {
    const mirrored: Record<string, number> = {};
    const exporter = new ZipkinExporter({
      collector: address,
      minFlushSpans: 100,
      maxQueue: 2,
      clock: new FakeClock(),
      onCount: (stat, by) => (mirrored[stat] = (mirrored[stat] ?? 0) + by),
    });
    for (let i = 1; i <= 5; i++) exporter.export(span(`000000000000000${i}`));
    expect(exporter.queued()).toBe(2);
    expect(exporter.stats()['tracing.zipkin.spans_dropped']).toBe(3);
    expect(mirrored['tracing.zipkin.spans_dropped']).toBe(3);
    await exporter.shutdown();
  });

  it('counts a failed report and never throws', async () => {
    status = 500;
    const exporter = new ZipkinExporter({ collector: address, clock: new FakeClock() });
    exporter.export(span('0000000000000009'));
    await exporter.flush();
    expect(exporter.stats()['tracing.zipkin.reports_failed']).toBe(1);
    await exporter.shutdown();
  });

  it('survives an unreachable collector', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const exporter = new ZipkinExporter({ collector: `127.0.0.1:${port}`, clock: new FakeClock() });
    exporter.export(span('000000000000000a'));
    await exporter.flush();
    expect(exporter.stats()['tracing.zipkin.reports_failed']).toBe(1);
    await exporter.shutdown();
  });

  it('accepts a full URL', () => {
    expect(collectorUrl('http://zipkin:9411/custom').pathname).toBe('/custom');
    expect(collectorUrl('zipkin:9411').href).toBe('http://zipkin:9411/api/v2/spans');
  });
});
