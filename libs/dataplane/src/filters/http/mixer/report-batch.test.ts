import { decodeReportRequest, MutableBag } from '@tsmesh/attributes';
import { FakeClock } from '@tsmesh/core';
import { ReportBatcher, type ReportSink } from './report-batch';

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
    const b = new ReportBatcher(s, clock, { maxEntries: 3, maxDelayMs: 1000, maxQueued: 100 });
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

  it('writes a later batch into the buffer of a sent one, only once its send has settled', async () => {
    const { s, sent, finish } = sink();
    const b = new ReportBatcher(s, new FakeClock(), { maxEntries: 2, maxDelayMs: 1000, maxQueued: 100 });
    const paths = (req: Buffer) => decodeReportRequest(req).map((x) => x.get('request.path'));
    for (let i = 0; i < 4; i++) b.add(bag(i)); // two batches, the first still in flight
    expect(sent[1].buffer).not.toBe(sent[0].buffer);
    expect(paths(sent[0])).toEqual(['/p0', '/p1']);
    finish[0]();
    await new Promise((r) => setImmediate(r));
    for (let i = 4; i < 6; i++) b.add(bag(i));
    expect(sent[2].buffer).toBe(sent[0].buffer);
    expect(paths(sent[2])).toEqual(['/p4', '/p5']);
    expect(paths(sent[1])).toEqual(['/p2', '/p3']);
    finish.forEach((f) => f());
    await b.close();
  });

  it('drops what does not fit while sends are in flight, and close waits for every send', async () => {
    const { s, finish, log } = sink();
    const b = new ReportBatcher(s, new FakeClock(), { maxEntries: 2, maxDelayMs: 1000, maxQueued: 3 });
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
});
