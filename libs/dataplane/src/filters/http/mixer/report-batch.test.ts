import { decodeReportRequest, MutableBag, ReportEncoder } from '@tsmesh/attributes';
import { FakeClock } from '@tsmesh/core';
import { ReportBatcher, type ReportSink } from './report-batch';
import {
  addCompletionToRequestBag,
  addReport,
  bagOfRequest,
  CompletionFacts,
  RequestFacts,
  StaticLayers,
  type StaticLayer,
} from './request-attributes';

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
    const b = new ReportBatcher(s, clock, { maxEntries: 3, maxDelayMs: 1000, maxQueued: 100, run: 1 });
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
    const b = new ReportBatcher(s, new FakeClock(), { maxEntries: 2, maxDelayMs: 1000, maxQueued: 100, run: 1 });
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
    const b = new ReportBatcher(s, new FakeClock(), { maxEntries: 2, maxDelayMs: 1000, maxQueued: 3, run: 1 });
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

  describe('entries from facts, written in runs', () => {
    const connection = {
      remoteAddress: '10.0.0.7',
      remotePort: 40123,
      localAddress: '10.0.0.9',
      localPort: 9080,
      tls: false,
      peerIdentity: undefined,
      localIdentity: undefined,
      sni: undefined,
      getPeerIdentity: () => undefined,
    };
    const statics = [{ 'context.reporter.kind': 'inbound', 'destination.uid': 'kubernetes://reviews-1.default' }];
    const layers = new StaticLayers();
    // two kinds of request over one layer (with and without a request id and response headers)
    const entry = (i: number): [RequestFacts, CompletionFacts, StaticLayer] => {
      const headers: Record<string, string> = { 'user-agent': 'curl/8', ':path': `/p${i}` };
      if (i % 3 !== 0) headers['x-request-id'] = `r-${i}`;
      return [
        new RequestFacts(
          '',
          headers,
          'reviews:9080',
          `/p${i}`,
          'GET',
          'http',
          false,
          1_700_000_000_000 + i,
          connection,
        ),
        new CompletionFacts(
          'inbound|9080||reviews',
          200 + (i % 2),
          1 + (i % 4),
          1_700_000_000_010 + i,
          i,
          2 * i,
          i % 2 ? { 'content-type': 'text/plain' } : undefined,
          undefined,
          '',
        ),
        layers.entry('', statics),
      ];
    };
    /** The bytes of the same entries written one by one as they come (no batcher). */
    const immediate = (entries: Array<[RequestFacts, CompletionFacts, StaticLayer]>) => {
      const enc = new ReportEncoder();
      for (const [f, done, layer] of entries) addReport(enc, f, done, layer);
      return enc.finish().map((r) => Buffer.from(r.bytes));
    };
    const paths = (reqs: Buffer[]) => reqs.flatMap((r) => decodeReportRequest(r)).map((x) => x.get('request.path'));

    // a ReportRequest per kind of entry: the order is kept within each
    const sentEntries = (log: string[]) =>
      log.filter((l) => l.startsWith('sent true')).reduce((n, l) => n + Number(l.split(' ')[2]), 0);

    it('sends the bytes and entry order of entries written as they come, at the timer and on close', async () => {
      const { s, sent, finish, log } = sink();
      const clock = new FakeClock();
      const b = new ReportBatcher(s, clock, { maxEntries: 100, maxDelayMs: 1000, maxQueued: 1000, run: 4 });
      const entries = Array.from({ length: 10 }, (_, i) => entry(i));
      for (const e of entries.slice(0, 7)) b.addFacts(...e);
      expect(b.pending).toBe(7); // 4 written, 3 waiting as facts
      clock.advance(999);
      expect(sent).toHaveLength(0);
      clock.advance(1);
      expect(sent.map((r) => Buffer.from(r))).toEqual(immediate(entries.slice(0, 7)));
      expect(b.pending).toBe(0);
      const first = sent.length;
      for (const e of entries.slice(7)) b.addFacts(...e);
      expect(sent).toHaveLength(first);
      const closing = b.close();
      await new Promise((r) => setImmediate(r));
      finish.forEach((f) => f());
      await closing;
      expect(sent.slice(first).map((r) => Buffer.from(r))).toEqual(immediate(entries.slice(7)));
      expect(sentEntries(log)).toBe(10);
    });

    it('sends at maxEntries counting the waiting facts, and keeps order with entries from bags', async () => {
      const { s, sent, finish } = sink();
      const b = new ReportBatcher(s, new FakeClock(), { maxEntries: 5, maxDelayMs: 1000, maxQueued: 1000, run: 8 });
      const entries = Array.from({ length: 5 }, (_, i) => entry(i));
      for (const e of entries.slice(0, 2)) b.addFacts(...e);
      // a request with Check on comes with its bag (the same bytes as addReport's entry)
      const [f2, done2] = entries[2];
      b.add(addCompletionToRequestBag(bagOfRequest(f2, statics, layers), done2));
      b.addFacts(...entries[3]);
      expect(sent).toHaveLength(0);
      b.addFacts(...entries[4]);
      expect(sent.map((r) => Buffer.from(r))).toEqual(immediate(entries));
      finish.forEach((f) => f());
      await b.close();
    });

    it('counts the waiting facts against maxQueued, and drops as entries written at once would', async () => {
      const { s, finish, log } = sink();
      // copies as sent: a settled send's buffer is written over by a later batch
      const sent: Buffer[] = [];
      const send = s.send;
      s.send = (req) => (sent.push(Buffer.from(req)), send(req));
      const b = new ReportBatcher(s, new FakeClock(), { maxEntries: 2, maxDelayMs: 1000, maxQueued: 3, run: 8 });
      for (let i = 0; i < 4; i++) b.addFacts(...entry(i)); // 2 sent and in flight, 1 waiting, the 4th does not fit
      expect(log.filter((l) => l.startsWith('dropped'))).toEqual(['dropped 1']);
      expect(b.pending).toBe(1);
      finish.forEach((f) => f());
      await new Promise((r) => setImmediate(r));
      b.addFacts(...entry(5)); // room again: sent with the waiting one
      const closing = b.close();
      await new Promise((r) => setImmediate(r));
      finish.forEach((f) => f());
      await closing;
      expect(log.filter((l) => l.startsWith('dropped'))).toEqual(['dropped 1']);
      expect(sentEntries(log)).toBe(4);
      expect(paths(sent).sort()).toEqual(['/p0', '/p1', '/p2', '/p5']);
    });
  });
});
