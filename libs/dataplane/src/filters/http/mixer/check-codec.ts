/**
 * A direct protobuf encoder for istio.mixer.v1.CheckRequest (field numbers from
 * istio/api `mixer/v1/check.proto` and `attributes.proto`). The generic path
 * (proto-loader's `fromObject` then `encode`) walks every map of the
 * CompressedAttributes object through reflection and cost the miss path about
 * 25 µs per request; this writes the same bytes from the same object form.
 */
import {
  FIXED64,
  ISTIO_MANIFEST,
  LEN,
  ProtoReader,
  ProtoWriter,
  VARINT,
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

function timestamp(out: ProtoWriter, t: WireTimestamp): void {
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
function sintMap<V>(out: ProtoWriter, field: number, m: Record<string, V> | undefined, value: (v: V) => void): void {
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

function attributes(out: ProtoWriter, a: CompressedAttributes): void {
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
function entry(out: ProtoWriter, field: number, key: number, value: () => void): void {
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
function bagAttributes(out: ProtoWriter, bag: Bag): void {
  const words = new WordTable();
  const entries = new ProtoWriter();
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
  out.raw(entries.finish());
}

/** CheckRequest bytes for a bag (the filter's miss path); `rest` as in `encodeCheckRequest`. */
export function encodeCheckRequestFromBag(bag: Bag, rest: Omit<CheckRequestObject, 'attributes'>): Buffer {
  const out = new ProtoWriter();
  out.nested(1, () => bagAttributes(out, bag));
  writeRest(out, rest);
  return out.finish();
}

/** CheckRequest bytes: attributes = 1, global_word_count = 2, deduplication_id = 3, quotas = 4. */
export function encodeCheckRequest(req: CheckRequestObject): Buffer {
  const out = new ProtoWriter();
  if (req.attributes) {
    const a = req.attributes;
    out.nested(1, () => attributes(out, a));
  }
  writeRest(out, req);
  return out.finish();
}

function writeRest(out: ProtoWriter, req: Omit<CheckRequestObject, 'attributes'>): void {
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

/** The CheckResponse the filter reads, in proto-loader's object form (enums by name, defaults filled in). */
export interface ReferencedObject {
  words: string[];
  attribute_matches: Array<{ name: number; condition: string; regex: string; map_key: number }>;
}
export interface DurationObject {
  seconds: number;
  nanos: number;
}
export interface CheckResponseObject {
  precondition: {
    status: { code: number; message: string; details: unknown[] } | null;
    valid_duration: DurationObject | null;
    valid_use_count: number;
    referenced_attributes: ReferencedObject | null;
    route_directive: null;
  } | null;
  quotas: Record<
    string,
    { valid_duration: DurationObject | null; granted_amount: number; referenced_attributes: ReferencedObject | null }
  >;
}

const CONDITIONS = ['CONDITION_UNSPECIFIED', 'ABSENCE', 'EXACT', 'REGEX'];

function readDuration(r: ProtoReader, end: number): DurationObject {
  const d = { seconds: 0, nanos: 0 };
  while (r.pos < end) {
    const t = r.uint32();
    if (t === 0x08) d.seconds = r.int64();
    else if (t === 0x10) d.nanos = r.int32();
    else r.skip(t & 7);
  }
  return d;
}

function readReferenced(r: ProtoReader, end: number): ReferencedObject {
  const out: ReferencedObject = { words: [], attribute_matches: [] };
  while (r.pos < end) {
    const t = r.uint32();
    if (t === 0x0a) out.words.push(r.string());
    else if (t === 0x12) {
      const e = r.length() + r.pos;
      const m = { name: 0, condition: CONDITIONS[0], regex: '', map_key: 0 };
      while (r.pos < e) {
        const f = r.uint32();
        if (f === 0x08) m.name = r.sint32();
        else if (f === 0x10) {
          const c = r.int32();
          m.condition = CONDITIONS[c] ?? String(c);
        } else if (f === 0x1a) m.regex = r.string();
        else if (f === 0x20) m.map_key = r.sint32();
        else r.skip(f & 7);
      }
      out.attribute_matches.push(m);
    } else r.skip(t & 7);
  }
  return out;
}

/**
 * istio.mixer.v1.CheckResponse bytes → the object proto-loader's decoder gives (the
 * fields the filter reads; route_directive is skipped), without protobufjs's
 * reflection-driven `toObject`.
 */
export function decodeCheckResponse(buf: Buffer): CheckResponseObject {
  const r = new ProtoReader(buf);
  const res: CheckResponseObject = { precondition: null, quotas: {} };
  while (!r.done) {
    const tag = r.uint32();
    if (tag === 0x12) {
      const end = r.length() + r.pos;
      const p: NonNullable<CheckResponseObject['precondition']> = {
        status: null,
        valid_duration: null,
        valid_use_count: 0,
        referenced_attributes: null,
        route_directive: null,
      };
      while (r.pos < end) {
        const t = r.uint32();
        if (t === 0x0a) {
          const e = r.length() + r.pos;
          const st = { code: 0, message: '', details: [] as unknown[] };
          while (r.pos < e) {
            const f = r.uint32();
            if (f === 0x08) st.code = r.int32();
            else if (f === 0x12) st.message = r.string();
            else r.skip(f & 7);
          }
          p.status = st;
        } else if (t === 0x12) p.valid_duration = readDuration(r, r.length() + r.pos);
        else if (t === 0x18) p.valid_use_count = r.int32();
        else if (t === 0x2a) p.referenced_attributes = readReferenced(r, r.length() + r.pos);
        else r.skip(t & 7);
      }
      res.precondition = p;
    } else if (tag === 0x1a) {
      const end = r.length() + r.pos;
      let name = '';
      const q: CheckResponseObject['quotas'][string] = {
        valid_duration: null,
        granted_amount: 0,
        referenced_attributes: null,
      };
      while (r.pos < end) {
        const t = r.uint32();
        if (t === 0x0a) name = r.string();
        else if (t === 0x12) {
          const e = r.length() + r.pos;
          while (r.pos < e) {
            const f = r.uint32();
            if (f === 0x0a) q.valid_duration = readDuration(r, r.length() + r.pos);
            else if (f === 0x10) q.granted_amount = r.int64();
            else if (f === 0x2a) q.referenced_attributes = readReferenced(r, r.length() + r.pos);
            else r.skip(f & 7);
          }
        } else r.skip(t & 7);
      }
      res.quotas[name] = q;
    } else r.skip(tag & 7);
  }
  return res;
}
