import { mixerServiceDefinition } from '@tsmesh/protocol';
import { MutableBag, parseIp, SlotBag, valueText, type AttributeValue, type Bag, type SettableBag } from '../bag';
import { wireType } from '../compressed';
import { ISTIO_MANIFEST } from '../manifest';
import { decodeReport } from '../report-codec';
import { ReportEncoder } from './report-encoder';
import { decodeReportRequest } from './requests';
import { LEN, ProtoWriter, VARINT } from './writer';

const generic = mixerServiceDefinition();

const base = (i: number) =>
  new MutableBag()
    .set('context.reporter.kind', 'inbound')
    .set('source.uid', 'kubernetes://productpage-v1-6c886ff494-hm7xj.default')
    .set('destination.labels', { app: 'reviews', version: 'v3' })
    .set('destination.port', 9080)
    .set('source.port', 40000 + (i % 3), 'INT64')
    .set('request.size', 2 ** 40, 'INT64')
    .set('my.ratio', i % 2 ? 0.25 : 0.5, 'DOUBLE')
    .set('connection.mtls', i % 2 === 0)
    .set('request.time', new Date(1_700_000_000_123 + (i % 2)))
    .set('response.duration', 1500.5, 'DURATION')
    .set('source.ip', parseIp(i % 2 ? '10.0.0.7' : '10.0.0.8') as Uint8Array)
    .set('destination.ip', parseIp('fd00::1') as Uint8Array)
    .set('request.headers', { ':authority': 'reviews:9080', 'x-request-id': `id-${i}`, 'user-agent': 'curl' })
    .set('response.code', i % 5 ? 200 : 503);

/** Values with their wire types (explicit, else the manifest's, else guessed from the value). */
const records = (bags: readonly Bag[]) =>
  bags.map((b) =>
    Object.fromEntries(
      [...b.names()].map((n) => [n, [b.get(n), wireType(b, n, b.get(n) as AttributeValue, ISTIO_MANIFEST)]]),
    ),
  );

/** Both decoders (ours on the bytes, protobufjs's generic decode + decodeReport) of every request. */
function roundTrip(bags: readonly Bag[]) {
  const enc = new ReportEncoder();
  for (const b of bags) enc.add(b);
  expect(enc.size).toBe(bags.length);
  const reqs = enc.finish();
  expect(enc.size).toBe(0);
  const fast = reqs.flatMap((r) => decodeReportRequest(r.bytes));
  const slow = reqs.flatMap((r) =>
    decodeReport(generic['Report'].requestDeserialize(r.bytes) as Parameters<typeof decodeReport>[0]),
  );
  return { reqs, fast, slow };
}

/** 300 bags over two shared bases, values drawn from pools small enough that they often repeat. */
function changingBags(): SlotBag[] {
  // a small deterministic generator
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const bases = [
    new MutableBag().set('context.reporter.kind', 'inbound').set('destination.port', 9080),
    new MutableBag().set('context.reporter.kind', 'outbound'),
  ];
  const names = ['request.headers', 'request.path', 'response.code', 'request.time', 'source.ip', 'my.ratio'];
  const maps: Array<Record<string, string>> = [
    { a: '1', b: '2' },
    { b: '2', a: '1' },
    { a: '1', b: '3' },
    { a: '1' },
    { a: '1', b: '2', c: '' },
  ];
  const bags: SlotBag[] = [];
  for (let i = 0; i < 300; i++) {
    const vals: AttributeValue[] = [
      { ...maps[rnd(maps.length)] },
      `/p${rnd(3)}`,
      200 + rnd(2),
      new Date(1_700_000_000_000 + rnd(2)),
      parseIp(rnd(2) ? '10.0.0.1' : '10.0.0.2') as Uint8Array,
      rnd(2) ? 0.5 : 1,
    ];
    const types = [
      undefined,
      undefined,
      rnd(4) ? undefined : ('DOUBLE' as const),
      undefined,
      undefined,
      'DOUBLE' as const,
    ];
    const bag = SlotBag.withNames(bases[rnd(5) ? 0 : 1], names, vals, types);
    if (rnd(20) === 0) bag.set('request.path', 'set later');
    bags.push(bag);
  }
  return bags;
}

describe('ReportEncoder', () => {
  it('writes bags that both decoders read back, with every value type', () => {
    const bags = Array.from({ length: 12 }, (_, i) => base(i));
    const { reqs, fast, slow } = roundTrip(bags);
    expect(reqs).toHaveLength(1);
    expect(reqs[0].entries).toBe(12);
    expect(records(fast)).toEqual(records(bags));
    expect(fast.map((b) => b.toRecord())).toEqual(slow.map((b) => b.toRecord()));
  });

  it('delta-encodes: an entry carries only what changed since the previous one', () => {
    const a = base(0);
    const b = base(0).set('response.code', 404);
    const enc = new ReportEncoder();
    enc.add(a);
    enc.add(b);
    const [req] = enc.finish();
    const obj = generic['Report'].requestDeserialize(req.bytes) as {
      attributes: Array<Record<string, Record<string, unknown>>>;
    };
    const count = (e: Record<string, Record<string, unknown>>) =>
      Object.values(e).reduce((n, m) => n + (m && !Array.isArray(m) ? Object.keys(m).length : 0), 0);
    expect(count(obj.attributes[0])).toBe(a.size);
    expect(count(obj.attributes[1])).toBe(1);
    expect(Object.values(obj.attributes[1]['int64s'])).toEqual([404]);
  });

  it('puts bags with other attribute names into their own request (a delta cannot remove one)', () => {
    const a = base(1);
    const b = base(2);
    b.delete('response.code');
    const c = base(3).set('response.grpc_status', '14');
    const { reqs, fast } = roundTrip([a, b, base(4), c, b]);
    expect(reqs.map((r) => r.entries)).toEqual([2, 2, 1]);
    // requests in order of first appearance; entries in order within each
    expect(fast.map((x) => x.toRecord())).toEqual([a, base(4), b, b, c].map((x) => x.toRecord()));
    expect(fast[2].has('response.code')).toBe(false);
  });

  it('notices changed maps, dates, addresses and a number whose type changed', () => {
    const a = base(0);
    const b = base(0)
      .set('request.headers', { ':authority': 'reviews:9080', 'x-request-id': 'id-0' })
      .set('destination.labels', { app: 'reviews', version: 'v3', extra: '' })
      .set('request.time', new Date(5))
      .set('destination.ip', parseIp('fd00::2') as Uint8Array)
      .set('response.duration', 1500.5, 'DOUBLE');
    const same = base(0);
    const { fast } = roundTrip([a, b, same]);
    expect(records(fast)).toEqual(records([a, b, same]));
  });

  it('bags over a shared base write the same bytes as plain bags with the same attributes', () => {
    // the static attributes of base(i), prepared once, with the request's own over them
    const statics = (kind: string) =>
      new MutableBag()
        .set('context.reporter.kind', kind)
        .set('source.uid', 'kubernetes://productpage-v1-6c886ff494-hm7xj.default')
        .set('destination.labels', { app: 'reviews', version: 'v3' })
        .set('destination.port', 9080);
    const own = <B extends SettableBag>(b: B, i: number): B =>
      b
        .set('source.port', 40000 + (i % 3), 'INT64')
        .set('request.time', new Date(1_700_000_000_123 + (i % 2)))
        .set('request.headers', { ':authority': 'reviews:9080', 'x-request-id': `id-${i}` })
        .set('response.code', i % 5 ? 200 : 503);
    const inbound = statics('inbound');
    const outbound = statics('outbound');
    const layered: SlotBag[] = [];
    const flat: MutableBag[] = [];
    for (let i = 0; i < 12; i++) {
      // another base every few entries, and one entry that sets a base name again
      const base = i % 4 === 3 ? outbound : inbound;
      layered.push(own(new SlotBag(base), i));
      flat.push(own(statics(base === inbound ? 'inbound' : 'outbound'), i));
      if (i === 6) {
        layered[i].set('destination.port', 9081);
        flat[i].set('destination.port', 9081);
      }
      if (i === 9) {
        // the same number as before, now of another type, is written again
        layered[i].set('response.code', 200, 'DOUBLE');
        flat[i].set('response.code', 200, 'DOUBLE');
      }
    }
    const encode = (bags: Bag[]) => {
      const enc = new ReportEncoder();
      for (const b of bags) enc.add(b);
      return enc.finish().map((r) => r.bytes.toString('hex'));
    };
    expect(encode(layered)).toEqual(encode(flat));
    expect(records(roundTrip(layered).fast)).toEqual(records(flat));
    expect(records(layered)).toEqual(records(flat));
  });

  it('bags over bases of other sizes with the same names in all go into one request, written right', () => {
    const big = new MutableBag().set('source.uid', 'a').set('destination.port', 9080);
    const small = new MutableBag().set('source.uid', 'b');
    const bags = [0, 1, 2, 3, 4].map((i) =>
      // two of each in a row, so the later of each pair is compared with one over the same base
      i === 2 || i === 3
        ? new SlotBag(small).set('destination.port', 9090 + i).set('request.path', `/p${i}`)
        : new SlotBag(big).set('request.path', `/p${i}`),
    );
    const { reqs, fast } = roundTrip(bags);
    expect(reqs).toHaveLength(1);
    expect(records(fast)).toEqual(records(bags));
  });

  it('writes each word once, right after the first entry that uses it; an id new in every entry is not looked up again', () => {
    // request ids new in every entry (in a header and request.id), a header value that alternates
    const bags = Array.from({ length: 30 }, (_, i) =>
      new MutableBag()
        .set('request.headers', { 'x-request-id': `id-${i}`, 'x-hop': `hop-${i % 3}` })
        .set('request.id', `id-${i}`)
        .set('request.path', i % 2 ? '/a' : '/b'),
    );
    const { reqs, fast, slow } = roundTrip(bags);
    expect(records(fast)).toEqual(records(bags));
    expect(slow.map((b) => b.toRecord())).toEqual(bags.map((b) => b.toRecord()));
    const obj = generic['Report'].requestDeserialize(reqs[0].bytes) as { default_words: string[] };
    // every id once (shared by its header and request.id), the other words once
    expect(obj.default_words.filter((w) => w.startsWith('id-'))).toEqual(bags.map((_, i) => `id-${i}`));
    expect(obj.default_words.filter((w) => !w.startsWith('id-')).sort()).toEqual(
      ['/a', '/b', 'hop-0', 'hop-1', 'hop-2', 'x-hop'].sort(), // x-request-id is a global word,
    );
    // the words are interleaved with the entries: each comes before the next entry
    const tags: number[] = [];
    const r = reqs[0].bytes;
    for (let pos = 0; pos < r.length;) {
      const tag = r[pos++];
      tags.push(tag >> 3);
      if ((tag & 7) === VARINT) while (r[pos++] & 0x80);
      else {
        let n = 0;
        for (let shift = 0; ; shift += 7) {
          const b = r[pos++];
          n += (b & 0x7f) * 2 ** shift;
          if (b < 0x80) break;
        }
        pos += n;
      }
    }
    expect(tags[0]).toBe(1);
    expect(tags.filter((t) => t === 1)).toHaveLength(30);
    expect(tags.indexOf(2)).toBe(1);
    expect(tags[tags.length - 1]).toBe(3);
  });

  it('a place whose words stop being new finds them again', () => {
    // 100 new values at one place, then two values in turn
    const bags = Array.from({ length: 300 }, (_, i) =>
      new MutableBag().set('request.headers', { 'x-v': i < 100 ? `new-${i}` : `v-${i % 2}` }),
    );
    const { reqs, fast } = roundTrip(bags);
    expect(records(fast)).toEqual(records(bags));
    const obj = generic['Report'].requestDeserialize(reqs[0].bytes) as { default_words: string[] };
    expect(obj.default_words.filter((w) => w.startsWith('new-'))).toHaveLength(100);
    // written again while the place still counts as volatile, then found: far fewer than 200
    const repeats = obj.default_words.filter((w) => w.startsWith('v-')).length;
    expect(repeats).toBeGreaterThanOrEqual(2);
    expect(repeats).toBeLessThan(80);
  });

  it('writes non-ASCII and long words', () => {
    const long = 'x'.repeat(300);
    const bags = ['héllo', '日本', long, 'plain', '\u{1F600}'].map((v) =>
      new MutableBag().set('request.path', v).set('request.headers', { 'x-v': v }),
    );
    const { fast, slow } = roundTrip(bags);
    expect(records(fast)).toEqual(records(bags));
    expect(slow.map((b) => b.toRecord())).toEqual(bags.map((b) => b.toRecord()));
  });

  it('bags sharing one array of names, in turn with bags of other names, go to the right requests', () => {
    const layer = new MutableBag().set('context.reporter.kind', 'inbound');
    const short = ['request.path', 'response.code'];
    const long = ['request.path', 'response.code', 'request.id'];
    const bags = Array.from({ length: 9 }, (_, i) =>
      i % 3 === 2
        ? SlotBag.withNames(layer, long, [`/p${i}`, 200 + i, `id-${i}`], [undefined, undefined, undefined])
        : SlotBag.withNames(layer, short, [`/p${i}`, 200 + (i % 2)], [undefined, undefined]),
    );
    // a bag changed after it was built no longer shares the names
    bags[4].set('request.id', 'late');
    const { reqs, fast } = roundTrip(bags);
    expect(reqs).toHaveLength(2);
    expect(reqs.map((r) => r.entries).sort()).toEqual([4, 5]);
    const byPath = new Map(fast.map((b) => [b.get('request.path'), b.toRecord()]));
    for (const b of bags) expect(byPath.get(b.get('request.path'))).toEqual(b.toRecord());
    expect(short).toEqual(['request.path', 'response.code']);
  });

  it('bags over shared bases with values that change, change back and repeat: every entry reads back', () => {
    const bags = changingBags();
    const { reqs, fast, slow } = roundTrip(bags);
    expect(reqs.reduce((n, r) => n + r.entries, 0)).toBe(300);
    // entries come back grouped by request, in order within each; a map's key order may differ
    const key = (b: Bag) =>
      JSON.stringify(
        [...b.names()].map((n) => {
          const v = b.get(n) as AttributeValue;
          return [n, valueText(v), wireType(b, n, v, ISTIO_MANIFEST)];
        }),
      );
    expect(fast.map(key).sort()).toEqual(bags.map(key).sort());
    expect(slow.map((b) => b.toRecord())).toEqual(fast.map((b) => b.toRecord()));
  });

  it('entries added without a bag (addOwn), as shared-base bags or as plain bags, in any mix: the same bytes', () => {
    const bags = changingBags();
    const expected = new ReportEncoder();
    for (const b of bags) expected.add(b);
    const mixed = new ReportEncoder();
    const scratch: AttributeValue[] = [];
    bags.forEach((b, i) => {
      const base = b.sharedBase();
      if (base !== null && i % 3 === 0) {
        // from a scratch array the caller writes over afterwards
        b.vals.forEach((v, j) => (scratch[j] = v));
        mixed.addOwn(base, b.keys, scratch, b.types);
        scratch.fill('overwritten');
      } else if (i % 3 === 1) {
        const plain = new MutableBag();
        for (const n of b.names()) plain.set(n, b.get(n) as AttributeValue, b.typeOf(n));
        mixed.add(plain);
      } else mixed.add(b);
    });
    const bytes = (e: ReportEncoder) => e.finish().map((r) => r.bytes.toString('hex'));
    expect(bytes(mixed)).toEqual(bytes(expected));
  });

  it('restarts after finish: the next request repeats every attribute', () => {
    const enc = new ReportEncoder();
    enc.add(base(0));
    enc.finish();
    enc.add(base(0));
    const [req] = enc.finish();
    expect(decodeReportRequest(req.bytes)[0].toRecord()).toEqual(base(0).toRecord());
  });
});

describe('decodeReportRequest encodings', () => {
  /** Two entries written whole, the second without response.code, optionally with field 4. */
  const twoEntries = (semantics?: number) => {
    const enc = new ReportEncoder();
    const a = base(0);
    const b = base(1);
    b.delete('response.code');
    enc.add(a);
    const first = enc.finish()[0].bytes;
    enc.add(b);
    const second = enc.finish()[0].bytes;
    const parts = (buf: Buffer) =>
      generic['Report'].requestDeserialize(buf) as { attributes: unknown[]; default_words: string[] };
    const pa = parts(first);
    const pb = parts(second);
    // one request of both whole entries: the second one's words become its message-level words
    const obj = {
      attributes: [pa.attributes[0], { ...(pb.attributes[0] as object), words: pb.default_words }],
      default_words: pa.default_words,
      global_word_count: 0,
    };
    const w = new ProtoWriter();
    w.raw(generic['Report'].requestSerialize(obj));
    if (semantics !== undefined) {
      w.tag(4, VARINT);
      w.varint(semantics);
    }
    return { bytes: Buffer.from(w.finish()), a, b };
  };

  it('INDEPENDENT_ENCODING: each entry is a whole bag (nothing carried over)', () => {
    const { bytes, a, b } = twoEntries(1);
    const out = decodeReportRequest(bytes);
    expect(out.map((x) => x.toRecord())).toEqual([a.toRecord(), b.toRecord()]);
    expect(out[1].has('response.code')).toBe(false);
  });

  it('DELTA_ENCODING, explicit or by default: an attribute left out is carried over', () => {
    for (const semantics of [undefined, 0]) {
      const { bytes, a, b } = twoEntries(semantics);
      const out = decodeReportRequest(bytes);
      expect(out[0].toRecord()).toEqual(a.toRecord());
      expect(out[1].toRecord()).toEqual({ ...b.toRecord(), 'response.code': a.get('response.code') });
    }
  });

  it('skips unknown fields', () => {
    const enc = new ReportEncoder();
    enc.add(base(0));
    const w = new ProtoWriter();
    w.raw(enc.finish()[0].bytes);
    w.tag(9, LEN);
    w.string('ignored');
    expect(decodeReportRequest(Buffer.from(w.finish()))[0].toRecord()).toEqual(base(0).toRecord());
  });
});
