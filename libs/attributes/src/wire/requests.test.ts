import { mixerServiceDefinition, encode } from '@tsmesh/protocol';
import { MutableBag, parseIp } from '../bag';
import { DecodeError, decodeBag, encodeBag } from '../compressed';
import { GLOBAL_WORDS } from '../global-dictionary';
import { decodeReport, encodeReport } from '../report-codec';
import { decodeCheckRequest, decodeReportRequest, type ReportBag } from './requests';

const generic = mixerServiceDefinition();

/** A bag like the proxy's inbound Check: every value type, headers, labels, words of its own. */
const realistic = () =>
  new MutableBag()
    .set('context.reporter.kind', 'inbound')
    .set('source.uid', 'kubernetes://productpage-v1-6c886ff494-hm7xj.default')
    .set('source.labels', { app: 'productpage', version: 'v1', 'pod-template-hash': '6c886ff494' })
    .set('destination.labels', { app: 'reviews', version: 'v3' })
    .set('destination.namespace', 'default')
    .set('destination.port', 9080)
    .set('source.port', -12345, 'INT64')
    .set('request.size', 2 ** 40, 'INT64')
    .set('my.ratio', 0.25, 'DOUBLE')
    .set('connection.mtls', true)
    .set('check.cache_hit', false, 'BOOL')
    .set('request.time', new Date(1_700_000_000_123))
    .set('response.duration', 1500.5, 'DURATION')
    .set('source.ip', parseIp('10.0.0.7') as Uint8Array)
    .set('destination.ip', parseIp('fd00::1') as Uint8Array)
    .set('request.path', '/reviews/0?x=' + 'y'.repeat(300))
    .set(
      'request.headers',
      Object.fromEntries([
        [':authority', 'reviews:9080'],
        ['x-request-id', 'abc-123'],
        ...Array.from({ length: 30 }, (_, i) => [`x-h${i}`, `value ${i}`]),
      ]),
    );

describe('decodeCheckRequest', () => {
  it('gives the bag, quotas and ids the generic decode + decodeBag give, on bytes from the generic encoder', () => {
    const obj = {
      attributes: encodeBag(realistic()),
      global_word_count: GLOBAL_WORDS.length,
      deduplication_id: 'pid-42-7',
      quotas: {
        'requestcount.quota.istio-system': { amount: 5, best_effort: true },
        other: { amount: 1, best_effort: false },
      },
    };
    const bytes = generic['Check'].requestSerialize(obj);
    const viaObject = generic['Check'].requestDeserialize(bytes) as typeof obj;
    const fast = decodeCheckRequest(bytes);
    const slow = decodeBag(viaObject.attributes);
    expect(fast.bag.toRecord()).toEqual(slow.toRecord());
    for (const n of slow.names()) expect([n, fast.bag.typeOf(n)]).toEqual([n, slow.typeOf(n)]);
    expect(fast.globalWordCount).toBe(viaObject.global_word_count);
    expect(fast.deduplicationId).toBe('pid-42-7');
    expect([...fast.quotas]).toEqual(
      Object.entries(viaObject.quotas).map(([k, q]) => [k, { amount: q.amount, bestEffort: q.best_effort === true }]),
    );
  });

  it('decodes an empty request and rejects bad indexes and truncated bytes with DecodeError', () => {
    const empty = decodeCheckRequest(Buffer.alloc(0));
    expect(empty.bag.size).toBe(0);
    expect(empty.quotas.size).toBe(0);
    const bad = generic['Check'].requestSerialize({ attributes: { words: [], strings: { '999': -4 } } });
    expect(() => decodeCheckRequest(bad)).toThrow(DecodeError);
    expect(() => decodeCheckRequest(bad)).toThrow(/not in the global dictionary/);
    const good = generic['Check'].requestSerialize({ attributes: encodeBag(realistic()) });
    expect(() => decodeCheckRequest(good.subarray(0, good.length - 3))).toThrow(DecodeError);
  });
});

describe('decodeReportRequest', () => {
  it('gives the bags decodeReport gives (deltas, default_words)', () => {
    const a = realistic();
    const b = realistic().set('response.duration', 3, 'DURATION').set('source.uid', 'kubernetes://other');
    const c = new MutableBag(b).set('response.code', 503);
    for (const req of encodeReport([a, b, c, a])) {
      const bytes = Buffer.from(encode('istio.mixer.v1.ReportRequest', req));
      const slow = decodeReport(generic['Report'].requestDeserialize(bytes) as Parameters<typeof decodeReport>[0]);
      const fast = decodeReportRequest(bytes);
      expect(fast.map((x) => x.toRecord())).toEqual(slow.map((x) => x.toRecord()));
    }
  });
});

describe('decodeReportRequest: names', () => {
  it('takes names from the default_words and from the own words of an entry, and rejects an index outside them', () => {
    const bytes = (attributes: unknown[]) =>
      Buffer.from(encode('istio.mixer.v1.ReportRequest', { attributes, default_words: ['x.name', 'v1'] }));
    const out = decodeReportRequest(
      bytes([
        { strings: { '-1': -2 } },
        { words: ['own.name', 'own value'], strings: { '-1': -2 } },
        { strings: { '-2': -1, '-1': -1 } },
      ]),
    );
    expect(out.map((b) => b.toRecord())).toEqual([
      { 'x.name': 'v1' },
      { 'x.name': 'v1', 'own.name': 'own value' },
      { 'x.name': 'x.name', 'own.name': 'own value', v1: 'x.name' },
    ]);
    expect(() => decodeReportRequest(bytes([{ strings: { '-1': -2 } }, { strings: { '-3': -1 } }]))).toThrow(
      /not in the message dictionary/,
    );
  });
});

/** The names an entry set: its changed slots, named. */
const changed = (bag: ReportBag): string[] => bag.changedSlots.map((i) => bag.slotNames[i]);

describe('decodeReportRequest: prev and changed (what Mixer may keep from the entry before)', () => {
  it('DELTA_ENCODING: each entry names the entry before it and the attributes it set; the rest are the same values', () => {
    const a = realistic().set('response.code', 200);
    const b = new MutableBag(a).set('response.duration', 3, 'DURATION').set('request.path', '/other');
    const c = new MutableBag(b).set('response.code', 503);
    const [req] = encodeReport([a, b, c]);
    const out = decodeReportRequest(Buffer.from(encode('istio.mixer.v1.ReportRequest', req)));
    expect(out[0].prev).toBeNull();
    expect(new Set(changed(out[0]))).toEqual(new Set(a.names()));
    expect(out[1].prev).toBe(out[0]);
    expect(out[2].prev).toBe(out[1]);
    expect(new Set(changed(out[1]))).toEqual(new Set(['response.duration', 'request.path']));
    expect(new Set(changed(out[2]))).toEqual(new Set(['response.code']));
    for (const [i, bag] of out.entries()) {
      if (!bag.prev) continue;
      for (const n of bag.names())
        if (!changed(bag).includes(n)) expect([i, n, bag.get(n) === bag.prev.get(n)]).toEqual([i, n, true]);
    }
  });

  it('DELTA_ENCODING: an entry that changes the type of an attribute leaves the entries before it as they were', () => {
    // the entries share one types array until one changes a type (then that entry copies it)
    const a = realistic().set('my.value', 3, 'INT64');
    const b = new MutableBag(a).set('request.path', '/b');
    const c = new MutableBag(b).set('my.value', 3.5, 'DOUBLE');
    const d = new MutableBag(c).set('request.path', '/d');
    const [req] = encodeReport([a, b, c, d]);
    const out = decodeReportRequest(Buffer.from(encode('istio.mixer.v1.ReportRequest', req)));
    expect(out.map((x) => x.typeOf('my.value'))).toEqual(['INT64', 'INT64', 'DOUBLE', 'DOUBLE']);
    expect(out.map((x) => x.get('my.value'))).toEqual([3, 3, 3.5, 3.5]);
    expect(out.map((x) => x.typeOf('response.duration'))).toEqual(['DURATION', 'DURATION', 'DURATION', 'DURATION']);
  });

  it('INDEPENDENT_ENCODING: no entry names another', () => {
    const a = realistic();
    const [req] = encodeReport([a, new MutableBag(a).set('request.path', '/other')]);
    const out = decodeReportRequest(
      Buffer.from(encode('istio.mixer.v1.ReportRequest', { ...req, repeated_attributes_semantics: 1 })),
    );
    expect(out.map((x) => x.prev)).toEqual([null, null]);
    for (const bag of out) expect(new Set(changed(bag))).toEqual(new Set(bag.names()));
  });
});
