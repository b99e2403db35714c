/**
 * A direct protobuf encoder for istio.mixer.v1.CheckRequest (field numbers from
 * istio/api `mixer/v1/check.proto` and `attributes.proto`). The generic path
 * (proto-loader's `fromObject` then `encode`) walks every map of the
 * CompressedAttributes object through reflection and cost the miss path about
 * 25 µs per request; this writes the same bytes from the same object form.
 */
import {
  ISTIO_MANIFEST,
  toNumber,
  wireType,
  WordTable,
  type Bag,
  type CompressedAttributes,
  type StringMap,
  type WireLong,
  type WireTimestamp,
} from '@tsmesh/attributes';

export interface CheckRequestObject {
  attributes?: CompressedAttributes;
  global_word_count?: number;
  deduplication_id?: string;
  quotas?: Record<string, { amount?: number; best_effort?: boolean }>;
}

const LEN = 2;
const VARINT = 0;
const FIXED64 = 1;

/** A growable byte buffer with just the wire primitives the Check request needs. */
class Out {
  buf = Buffer.allocUnsafe(512);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  /** Unsigned varint of a non-negative safe integer. */
  varint(v: number): void {
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  /** int64/int32 varint: negatives as 64-bit two's complement (10 bytes), as protobuf does. */
  int64(v: number): void {
    if (v >= 0) return this.varint(v);
    let b = BigInt.asUintN(64, BigInt(Math.trunc(v)));
    this.room(10);
    while (b >= 0x80n) {
      this.buf[this.pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.pos++] = Number(b);
  }
  sint32(v: number): void {
    this.varint(((v << 1) ^ (v >> 31)) >>> 0);
  }
  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  double(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  string(s: string): void {
    const n = Buffer.byteLength(s);
    this.varint(n);
    this.room(n);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += n;
  }
  /** Writes a length-delimited field whose body `body` writes; the length is patched in afterwards. */
  nested(field: number, body: () => void): void {
    this.tag(field, LEN);
    // reserve one byte for the length, move the body if it turns out longer than 127 bytes
    this.room(1);
    const at = this.pos++;
    body();
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    const body2 = Buffer.from(this.buf.subarray(at + 1, this.pos));
    this.pos = at;
    this.bytes(body2);
  }
}

function timestamp(out: Out, t: WireTimestamp): void {
  const seconds = toNumber(t.seconds);
  if (seconds !== 0) {
    out.tag(1, VARINT);
    out.int64(seconds);
  }
  if (t.nanos) {
    out.tag(2, VARINT);
    out.int64(t.nanos);
  }
}

/** One `map<sint32, V>` field: each entry a nested message with key = 1, value = 2. */
function sintMap<V>(out: Out, field: number, m: Record<string, V> | undefined, value: (v: V) => void): void {
  if (!m) return;
  for (const k in m) {
    const v = m[k];
    out.nested(field, () => {
      out.tag(1, VARINT);
      out.sint32(Number(k));
      value(v);
    });
  }
}

function attributes(out: Out, a: CompressedAttributes): void {
  for (const w of a.words ?? []) {
    out.tag(1, LEN);
    out.string(w);
  }
  sintMap(out, 2, a.strings, (v: number) => {
    out.tag(2, VARINT);
    out.sint32(v);
  });
  sintMap(out, 3, a.int64s, (v: WireLong) => {
    out.tag(2, VARINT);
    out.int64(toNumber(v));
  });
  sintMap(out, 4, a.doubles, (v: number) => {
    out.tag(2, FIXED64);
    out.double(v);
  });
  sintMap(out, 5, a.bools, (v: boolean) => {
    out.tag(2, VARINT);
    out.varint(v ? 1 : 0);
  });
  sintMap(out, 6, a.timestamps, (v: WireTimestamp) => out.nested(2, () => timestamp(out, v)));
  sintMap(out, 7, a.durations, (v: WireTimestamp) => out.nested(2, () => timestamp(out, v)));
  sintMap(out, 8, a.bytes, (v: Uint8Array) => {
    out.tag(2, LEN);
    out.bytes(v);
  });
  sintMap(out, 9, a.string_maps, (v: { entries: Record<string, number> }) =>
    out.nested(2, () =>
      sintMap(out, 1, v.entries, (e: number) => {
        out.tag(2, VARINT);
        out.sint32(e);
      }),
    ),
  );
}

function msTimestamp(ms: number): WireTimestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** One map entry `{1: sint32 key, 2: …}` of CompressedAttributes field `field`. */
function entry(out: Out, field: number, key: number, value: () => void): void {
  out.nested(field, () => {
    out.tag(1, VARINT);
    out.sint32(key);
    value();
  });
}

/**
 * CompressedAttributes bytes straight from a bag, in one pass (no intermediate object): the
 * same words, indexes and values as `encodeBag` gives, entries in bag order rather than
 * grouped by field (protobuf readers accept fields in any order).
 */
function bagAttributes(out: Out, bag: Bag): void {
  const words = new WordTable();
  const entries = new Out();
  for (const name of bag.names()) {
    const value = bag.get(name);
    if (value === undefined) continue;
    const k = words.index(name);
    switch (wireType(bag, name, value, ISTIO_MANIFEST)) {
      case 'STRING':
      case 'DNS_NAME':
      case 'EMAIL_ADDRESS':
      case 'URI': {
        const v = words.index(String(value));
        entry(entries, 2, k, () => {
          entries.tag(2, VARINT);
          entries.sint32(v);
        });
        break;
      }
      case 'INT64':
        entry(entries, 3, k, () => {
          entries.tag(2, VARINT);
          entries.int64(Math.trunc(Number(value)));
        });
        break;
      case 'DOUBLE':
        entry(entries, 4, k, () => {
          entries.tag(2, FIXED64);
          entries.double(Number(value));
        });
        break;
      case 'BOOL':
        entry(entries, 5, k, () => {
          entries.tag(2, VARINT);
          entries.varint(value ? 1 : 0);
        });
        break;
      case 'TIMESTAMP': {
        const t = msTimestamp(value instanceof Date ? value.getTime() : Number(value));
        entry(entries, 6, k, () => entries.nested(2, () => timestamp(entries, t)));
        break;
      }
      case 'DURATION': {
        const t = msTimestamp(Number(value));
        entry(entries, 7, k, () => entries.nested(2, () => timestamp(entries, t)));
        break;
      }
      case 'IP_ADDRESS':
        entry(entries, 8, k, () => {
          entries.tag(2, LEN);
          entries.bytes(value as Uint8Array);
        });
        break;
      case 'STRING_MAP': {
        const m = value as StringMap;
        const pairs: number[] = [];
        for (const mk of Object.keys(m)) pairs.push(words.index(mk), words.index(m[mk]));
        entry(entries, 9, k, () =>
          entries.nested(2, () => {
            for (let i = 0; i < pairs.length; i += 2)
              entry(entries, 1, pairs[i], () => {
                entries.tag(2, VARINT);
                entries.sint32(pairs[i + 1]);
              });
          }),
        );
        break;
      }
    }
  }
  for (const w of words.words) {
    out.tag(1, LEN);
    out.string(w);
  }
  out.raw(entries.buf.subarray(0, entries.pos));
}

/** CheckRequest bytes for a bag (the filter's miss path); `rest` as in `encodeCheckRequest`. */
export function encodeCheckRequestFromBag(bag: Bag, rest: Omit<CheckRequestObject, 'attributes'>): Buffer {
  const out = new Out();
  out.nested(1, () => bagAttributes(out, bag));
  writeRest(out, rest);
  return out.buf.subarray(0, out.pos);
}

/** CheckRequest bytes: attributes = 1, global_word_count = 2, deduplication_id = 3, quotas = 4. */
export function encodeCheckRequest(req: CheckRequestObject): Buffer {
  const out = new Out();
  if (req.attributes) {
    const a = req.attributes;
    out.nested(1, () => attributes(out, a));
  }
  writeRest(out, req);
  return out.buf.subarray(0, out.pos);
}

function writeRest(out: Out, req: Omit<CheckRequestObject, 'attributes'>): void {
  if (req.global_word_count) {
    out.tag(2, VARINT);
    out.varint(req.global_word_count);
  }
  if (req.deduplication_id) {
    out.tag(3, LEN);
    out.string(req.deduplication_id);
  }
  for (const name in req.quotas ?? {}) {
    const q = (req.quotas as NonNullable<CheckRequestObject['quotas']>)[name];
    out.nested(4, () => {
      out.tag(1, LEN);
      out.string(name);
      out.nested(2, () => {
        if (q.amount) {
          out.tag(1, VARINT);
          out.int64(Number(q.amount));
        }
        if (q.best_effort) {
          out.tag(2, VARINT);
          out.varint(1);
        }
      });
    });
  }
}
