// The test collector against the real exporter the proxies use: what ZipkinExporter POSTs arrives
// span by span, a trace is awaited by id, and anything but a span array is refused and recorded.
import { ZipkinExporter, type ZipkinSpan } from '@tsmesh/telemetry';
import { httpRequest } from './http';
import { startZipkinCollector, type ZipkinCollector } from './zipkin';

let collector: ZipkinCollector;
beforeEach(async () => {
  collector = await startZipkinCollector();
});
afterEach(() => collector.close());

const span = (traceId: string, id: string, parentId?: string): ZipkinSpan => ({
  traceId,
  id,
  ...(parentId ? { parentId } : {}),
  name: `op-${id}`,
  kind: 'SERVER',
  timestamp: 1_700_000_000_000_000,
  duration: 5,
  localEndpoint: { serviceName: 'productpage' },
});

test('spans a ZipkinExporter reports arrive, and waitForTrace resolves with that trace only', async () => {
  expect(collector.address).toMatch(/^127\.0\.0\.1:\d+$/);
  const exporter = new ZipkinExporter({ collector: collector.address, path: '/api/v2/spans' });
  const trace = 'a'.repeat(32);
  const waiting = collector.waitForTrace(trace, (s) => s.length === 2);
  exporter.export(span(trace, '1'.repeat(16)));
  exporter.export(span('b'.repeat(32), '3'.repeat(16)));
  exporter.export(span(trace, '2'.repeat(16), '1'.repeat(16)));
  await exporter.shutdown();
  const got = await waiting;
  expect(got.map((s) => [s.id, s.parentId, s.localEndpoint?.serviceName])).toEqual([
    ['1'.repeat(16), undefined, 'productpage'],
    ['2'.repeat(16), '1'.repeat(16), 'productpage'],
  ]);
  expect(collector.spans).toHaveLength(3);
  expect(collector.rejected).toEqual([]);
});

test('waitForTrace rejects after its timeout, naming the spans that did arrive', async () => {
  const trace = 'c'.repeat(32);
  const res = await httpRequest(`http://${collector.address}/api/v2/spans`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([span(trace, '4'.repeat(16))]),
  });
  expect(res.status).toBe(202);
  await expect(collector.waitForTrace(trace, (s) => s.length > 1, 50)).rejects.toThrow(
    `trace ${trace} incomplete after 50 ms; spans: ["productpage SERVER op-4444444444444444"]`,
  );
});

test('a body that is not a JSON array of spans, or another path, is answered 400 and recorded', async () => {
  const post = (path: string, body: string) =>
    httpRequest(`http://${collector.address}${path}`, { method: 'POST', body });
  expect((await post('/api/v2/spans', '{"traceId":"x"}')).status).toBe(400);
  expect((await post('/api/v2/spans', '[{')).status).toBe(400);
  expect((await post('/api/v1/spans', '[]')).status).toBe(400);
  expect(collector.rejected).toEqual([
    'POST /api/v2/spans: not an array of spans',
    expect.stringMatching(/^POST \/api\/v2\/spans: invalid JSON: /),
    'POST /api/v1/spans: not POST /api/v2/spans',
  ]);
  expect(collector.spans).toEqual([]);
});
