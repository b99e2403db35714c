import { MutableBag, parseIp } from './bag';
import { decodeBag, encodeBag, lookupWord, DecodeError } from './compressed';
import { GLOBAL_WORDS } from './global-dictionary';
import { decodeReport, encodeReport } from './report-codec';

const sample = () =>
  MutableBag.from({
    'source.uid': 'kubernetes://productpage-v1-1.default',
    'destination.service.host': 'reviews.default.svc.cluster.local',
    'request.headers': { ':method': 'GET', 'x-request-id': 'abc', 'x-user': 'jason' },
    'request.size': 120,
    'response.code': 200,
    'response.duration': 12.5,
    'request.time': new Date('2018-07-31T10:00:00.123Z'),
    'source.ip': parseIp('10.0.0.7') as Uint8Array,
    'connection.mtls': true,
    'custom.ratio': 0.25,
  });

describe('global dictionary', () => {
  it('has Istio 1.0 203 words in upstream order', () => {
    expect(GLOBAL_WORDS).toHaveLength(203);
    expect(GLOBAL_WORDS.slice(0, 7)).toEqual([
      'source.ip',
      'source.port',
      'source.name',
      'source.uid',
      'source.namespace',
      'source.labels',
      'source.user',
    ]);
    expect(GLOBAL_WORDS[15]).toBe('request.headers');
    expect(GLOBAL_WORDS[202]).toBe('connection.requested_server_name');
  });
});

describe('compressed attributes', () => {
  it('uses global indexes for known words and negative indexes for message words', () => {
    const msg = encodeBag(MutableBag.from({ 'source.uid': 'kubernetes://x', 'request.method': 'GET' }));
    const uid = GLOBAL_WORDS.indexOf('source.uid');
    expect(msg.strings[uid]).toBe(-1);
    expect(msg.words).toEqual(['kubernetes://x']);
    expect(msg.strings[GLOBAL_WORDS.indexOf('request.method')]).toBe(GLOBAL_WORDS.indexOf('GET'));
  });

  it('round-trips every type', () => {
    const bag = sample();
    const back = decodeBag(encodeBag(bag));
    expect(back.toRecord()).toEqual(bag.toRecord());
    expect(back.typeOf('response.duration')).toBe('DURATION');
    expect(back.typeOf('custom.ratio')).toBe('DOUBLE');
  });

  it('rejects indexes outside either dictionary', () => {
    expect(() => lookupWord(203, GLOBAL_WORDS, [])).toThrow(DecodeError);
    expect(() => lookupWord(-2, GLOBAL_WORDS, ['a'])).toThrow(/message dictionary/);
    expect(() => decodeBag({ words: [], strings: { '-1': 0 } })).toThrow(DecodeError);
  });
});

describe('report batches', () => {
  it('delta-encodes entries with the same names and keeps independent bags', () => {
    const a = sample();
    const b = sample().set('response.code', 503);
    const c = MutableBag.from({ 'request.path': '/other', 'context.protocol': 'tcp' });
    const reqs = encodeReport([a, b, c]);
    expect(reqs).toHaveLength(2);
    // the second entry carries only what changed
    expect(Object.keys(reqs[0].attributes[1].strings)).toHaveLength(0);
    expect(Object.values(reqs[0].attributes[1].int64s)).toEqual([503]);
    const decoded = reqs.flatMap((r) => decodeReport(r));
    expect(decoded.map((d) => d.toRecord())).toEqual([a.toRecord(), b.toRecord(), c.toRecord()]);
  });
});
