import { decodeReportRequest, MutableBag } from '@tsmesh/attributes';
import { FakeClock } from '@tsmesh/core';
import { ReportBatcher, type PendingReport, type ReportSink } from './report-batch';

/** A sink whose sends finish only when the test says so. */
function sink() {
  const sent: Buffer[] = [];
  const finish: Array<() => void> = [];
  const log: string[] = [];
  const s: ReportSink = {
    send(req) {
      sent.push(req);
      return new Promise<void>((resolve) => finish.push(resolve));
    },
    onSent: (ok, n) => void log.push(`sent ${ok} ${n}`),
    onDropped: (n) => void log.push(`dropped ${n}`),
  };
  return { s, sent, finish, log };
}

const bag = (i: number) => MutableBag.from({ 'request.path': `/p${i}`, 'response.code': 200 });

describe('ReportBatcher', () => {
  it('sends at maxEntries and after maxDelayMs, each entry as written', async () => {
    const { s, sent, finish, log } = sink();
    const clock = new FakeClock();
    const b = new ReportBatcher(s, clock, { maxEntries: 3, maxDelayMs: 1000, maxQueued: 100, writeEvery: 100 });
    for (let i = 0; i < 4; i++) b.add(bag(i));
    expect(sent).toHaveLength(1);
    expect(b.pending).toBe(1);
    clock.advance(1000);
    expect(sent).toHaveLength(2);
    finish.forEach((f) => f());
    await b.close();
    expect(log).toEqual(['sent true 3', 'sent true 1']);
    expect(sent.flatMap((r) => decodeReportRequest(r)).map((x) => x.get('request.path'))).toEqual([
      '/p0',
      '/p1',
      '/p2',
      '/p3',
    ]);
  });

  it('drops what does not fit while sends are in flight, and close waits for every send', async () => {
    const { s, finish, log } = sink();
    const b = new ReportBatcher(s, new FakeClock(), { maxEntries: 2, maxDelayMs: 1000, maxQueued: 3, writeEvery: 100 });
    for (let i = 0; i < 4; i++) b.add(bag(i)); // 2 sent and in flight, 1 queued, the 4th does not fit
    expect(log).toEqual(['dropped 1']);
    let closed = false;
    const closing = b.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    finish[1]();
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false); // the first batch is still in flight
    finish[0]();
    await closing;
    expect(log).toEqual(['dropped 1', 'sent true 1', 'sent true 2']);
  });

  it('builds deferred entries in runs of writeEvery, at the flush, and before an entry added at once', async () => {
    const { s, sent, finish, log } = sink();
    const clock = new FakeClock();
    const b = new ReportBatcher(s, clock, { maxEntries: 10, maxDelayMs: 1000, maxQueued: 100, writeEvery: 3 });
    const built: number[] = [];
    const pending = (i: number): PendingReport => ({
      reportBag: () => {
        built.push(i);
        return bag(i);
      },
    });
    b.defer(pending(0));
    b.defer(pending(1));
    expect(built).toEqual([]);
    expect(b.pending).toBe(2);
    b.defer(pending(2)); // a run of 3
    expect(built).toEqual([0, 1, 2]);
    b.defer(pending(3));
    b.add(bag(4)); // entry 3 is written first, so the order is kept
    expect(built).toEqual([0, 1, 2, 3]);
    b.defer(pending(5));
    b.defer({
      reportBag: () => {
        throw new Error('broken facts');
      },
    });
    expect(b.pending).toBe(7);
    clock.advance(1000); // the flush writes what is still deferred
    expect(built).toEqual([0, 1, 2, 3, 5]);
    expect(b.pending).toBe(0);
    finish.forEach((f) => f());
    await b.close();
    expect(log).toEqual(['dropped 1', 'sent true 6']);
    expect(sent.flatMap((r) => decodeReportRequest(r)).map((x) => x.get('request.path'))).toEqual([
      '/p0',
      '/p1',
      '/p2',
      '/p3',
      '/p4',
      '/p5',
    ]);
  });

  it('counts deferred entries against maxEntries and maxQueued', async () => {
    const { s, sent, finish, log } = sink();
    const b = new ReportBatcher(s, new FakeClock(), { maxEntries: 2, maxDelayMs: 1000, maxQueued: 3, writeEvery: 100 });
    const pending = (i: number): PendingReport => ({ reportBag: () => bag(i) });
    for (let i = 0; i < 4; i++) b.defer(pending(i)); // 2 sent and in flight, 1 deferred, the 4th does not fit
    expect(sent).toHaveLength(1);
    expect(b.pending).toBe(1);
    expect(log).toEqual(['dropped 1']);
    const closing = b.close();
    finish.forEach((f) => f());
    await new Promise((r) => setImmediate(r));
    finish.forEach((f) => f());
    await closing;
    expect(log).toEqual(['dropped 1', 'sent true 2', 'sent true 1']);
    expect(sent.flatMap((r) => decodeReportRequest(r)).map((x) => x.get('request.path'))).toEqual([
      '/p0',
      '/p1',
      '/p2',
    ]);
  });
});
