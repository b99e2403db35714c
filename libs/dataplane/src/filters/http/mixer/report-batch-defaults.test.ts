// The shipped batching (istio/proxy's Report batch: 1,000 entries or 1 s), driven with a fake clock.
import { decodeReportRequest, MutableBag } from '@tsmesh/attributes';
import { FakeClock } from '@tsmesh/core';
import { DEFAULT_REPORT_BATCH, ReportBatcher, type ReportSink } from './report-batch';

/** A sink that records each ReportRequest's paths and whose sends succeed at once. */
function recordingSink() {
  const sends: string[][] = [];
  const log: string[] = [];
  const sink: ReportSink = {
    send(req) {
      sends.push(decodeReportRequest(req).map((entry) => String(entry.get('request.path'))));
      return Promise.resolve();
    },
    onSent: (ok, n) => void log.push(`sent ${ok} ${n}`),
    onDropped: (n) => void log.push(`dropped ${n}`),
  };
  return { sink, sends, log };
}

const entry = (i: number) => MutableBag.from({ 'request.path': `/p${i}`, 'response.code': 200 });
const paths = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `/p${from + i}`);

test('DEFAULT_REPORT_BATCH flushes at 1,000 entries or 1 s', () => {
  expect(DEFAULT_REPORT_BATCH).toMatchObject({ maxEntries: 1000, maxDelayMs: 1000 });
});

test('with the defaults: 999 entries wait, the 1,000th sends all 1,000 at once, one more is sent 1 s after it came', async () => {
  const { sink, sends, log } = recordingSink();
  const clock = new FakeClock();
  const batcher = new ReportBatcher(sink, clock);
  for (let i = 0; i < 999; i++) batcher.add(entry(i));
  expect(sends).toHaveLength(0);
  expect(batcher.pending).toBe(999);

  batcher.add(entry(999));
  expect(sends).toEqual([paths(0, 1000)]);
  expect(batcher.pending).toBe(0);
  // the flush at the size took the 1 s timer with it
  expect(clock.pending()).toBe(0);

  batcher.add(entry(1000));
  clock.advance(999);
  expect(sends).toHaveLength(1);
  clock.advance(1);
  expect(sends).toHaveLength(2);
  expect(sends[1]).toEqual(['/p1000']);

  await batcher.close();
  expect(sends).toHaveLength(2);
  expect(log).toEqual(['sent true 1000', 'sent true 1']);
});

test('with the defaults the 1 s runs from the first entry of a batch, not the latest', async () => {
  const { sink, sends } = recordingSink();
  const clock = new FakeClock();
  const batcher = new ReportBatcher(sink, clock);
  batcher.add(entry(0));
  clock.advance(600);
  batcher.add(entry(1));
  clock.advance(399);
  expect(sends).toHaveLength(0);
  clock.advance(1);
  expect(sends).toEqual([['/p0', '/p1']]);
  // the next entry starts a new second
  batcher.add(entry(2));
  clock.advance(999);
  expect(sends).toHaveLength(1);
  clock.advance(1);
  expect(sends[1]).toEqual(['/p2']);
  await batcher.close();
});
