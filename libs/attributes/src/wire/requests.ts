/**
 * Direct decoders for the requests Mixer receives (istio.mixer.v1.CheckRequest
 * and ReportRequest, field numbers from istio/api `mixer/v1/check.proto`,
 * `report.proto` and `attributes.proto`): protobuf bytes straight into attribute
 * bags, with the same results as proto-loader's decode + `toObject` followed by
 * `decodeBag` / `decodeReport`, but without the object form in between.
 *
 * Differences only on inputs no encoder writes: an attribute present in two of
 * the typed maps of one message ends up with the value that comes last on the
 * wire (the object path applies the maps in field order), and a repeated
 * `attributes` field of a CheckRequest keeps the last one (protobuf would merge).
 */
import { MutableBag, type AttributeValue, type Bag, type StringMap } from '../bag';
import type { ValueType } from '../manifest';
import { lookupWord } from '../compressed';
import { GLOBAL_WORDS } from '../global-dictionary';
import { ProtoReader } from './reader';

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;

/** Timestamp / Duration body → milliseconds. */
function readMillis(r: ProtoReader, end: number): number {
  let seconds = 0;
  let nanos = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === VARINT) seconds = r.int64();
    else if (field === 2 && wire === VARINT) nanos = r.int32();
    else r.skip(wire);
  }
  return seconds * 1000 + nanos / 1e6;
}

/** StringMap body (`entries` = 1, map<sint32, sint32>) → key/value indexes, flat. */
function readStringMap(r: ProtoReader, end: number, out: number[]): void {
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 !== 1 || (tag & 7) !== LEN) {
      r.skip(tag & 7);
      continue;
    }
    const entryEnd = r.length() + r.pos;
    let k = 0;
    let v = 0;
    while (r.pos < entryEnd) {
      const t = r.uint32();
      if (t === 0x08) k = r.sint32();
      else if (t === 0x10) v = r.sint32();
      else r.skip(t & 7);
    }
    out.push(k, v);
  }
}

/**
 * Applies one CompressedAttributes message, the bytes [start, end) of `buf`, onto
 * `bag` (Mixer's UpdateBagFromProto: sets, never deletes). `defaultWords` stands in
 * when the message has no words of its own (Report `default_words`).
 */
/** What `readCompressedInto` writes to (a MutableBag, or the accumulator of a Report's entries). */
export interface AttributeSink {
  set(name: string, value: AttributeValue, type: ValueType): unknown;
}

export function readCompressedInto<B extends AttributeSink>(
  bag: B,
  buf: Buffer,
  start: number,
  end: number,
  globalWords: readonly string[] = GLOBAL_WORDS,
  defaultWords: readonly string[] = [],
): B {
  const r = new ProtoReader(buf, start, end);
  // pass 1: the message's own words (field 1), wherever they are
  let own: string[] | null = null;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 0x0a) (own ??= []).push(r.string());
    else r.skip(tag & 7);
  }
  const words = own ?? defaultWords;
  const w = (i: number) => lookupWord(i, globalWords, words);
  // a Report entry without words of its own: its names are indexes into the words all entries of
  // the request share, so the accumulator knows each one's slot after the first entry
  const acc = own === null && bag instanceof Accumulator ? bag : null;
  // pass 2: the typed maps, each entry {1: sint32 name, 2: value}
  r.pos = start;
  let pairs: number[] | null = null;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field < 2 || field > 9 || (tag & 7) !== LEN) {
      r.skip(tag & 7);
      continue;
    }
    const entryEnd = r.length() + r.pos;
    let key = 0;
    // value defaults as protobuf gives them for an entry without a value
    let num = 0;
    let flag = false;
    let bytes: Uint8Array | null = null;
    let map: number[] | null = null;
    while (r.pos < entryEnd) {
      const t = r.uint32();
      const f = t >>> 3;
      const wire = t & 7;
      if (f === 1 && wire === VARINT) {
        key = r.sint32();
        continue;
      }
      if (f !== 2) {
        r.skip(wire);
        continue;
      }
      switch (field) {
        case 2: // strings: sint32
          if (wire === VARINT) num = r.sint32();
          else r.skip(wire);
          break;
        case 3: // int64s
          if (wire === VARINT) num = r.int64();
          else r.skip(wire);
          break;
        case 4: // doubles
          if (wire === FIXED64) num = r.double();
          else r.skip(wire);
          break;
        case 5: // bools
          if (wire === VARINT) flag = r.bool();
          else r.skip(wire);
          break;
        case 6: // timestamps
        case 7: // durations
          if (wire === LEN) {
            const n = r.length();
            num = readMillis(r, r.pos + n);
          } else r.skip(wire);
          break;
        case 8: // bytes
          if (wire === LEN) bytes = r.bytes();
          else r.skip(wire);
          break;
        case 9: // string_maps
          if (wire === LEN) {
            const n = r.length();
            map = pairs ??= [];
            map.length = 0;
            readStringMap(r, r.pos + n, map);
          } else r.skip(wire);
          break;
      }
    }
    let slot = -1;
    let name = '';
    if (acc !== null) slot = acc.slotOfKey(key, globalWords, words);
    else name = w(key);
    let value: AttributeValue | LazyDate;
    let type: ValueType;
    switch (field) {
      case 2:
        value = w(num);
        type = 'STRING';
        break;
      case 3:
        value = num;
        type = 'INT64';
        break;
      case 4:
        value = num;
        type = 'DOUBLE';
        break;
      case 5:
        value = flag;
        type = 'BOOL';
        break;
      case 6:
        value = acc !== null ? new LazyDate(num) : new Date(num);
        type = 'TIMESTAMP';
        break;
      case 7:
        value = num;
        type = 'DURATION';
        break;
      case 8:
        value = bytes ?? new Uint8Array(0);
        type = 'IP_ADDRESS';
        break;
      default: {
        // 9
        const m: Record<string, string> = {};
        if (map) for (let i = 0; i < map.length; i += 2) m[w(map[i])] = w(map[i + 1]);
        value = m as StringMap;
        type = 'STRING_MAP';
      }
    }
    if (acc !== null) acc.setSlot(slot, value, type);
    else bag.set(name, value as AttributeValue, type);
  }
  return bag;
}

export interface QuotaParams {
  amount: number;
  bestEffort: boolean;
}

export interface DecodedCheckRequest {
  bag: MutableBag;
  globalWordCount: number;
  deduplicationId: string;
  /** In wire order. */
  quotas: Map<string, QuotaParams>;
}

/** CheckRequest: attributes = 1, global_word_count = 2, deduplication_id = 3, quotas = 4 (map<string, QuotaParams>). */
export function decodeCheckRequest(buf: Buffer, globalWords: readonly string[] = GLOBAL_WORDS): DecodedCheckRequest {
  const r = new ProtoReader(buf);
  let attrStart = -1;
  let attrEnd = -1;
  let globalWordCount = 0;
  let deduplicationId = '';
  const quotas = new Map<string, QuotaParams>();
  while (!r.done) {
    const tag = r.uint32();
    switch (tag) {
      case 0x0a: {
        const n = r.length();
        attrStart = r.pos;
        attrEnd = r.pos += n;
        break;
      }
      case 0x10:
        globalWordCount = r.uint32();
        break;
      case 0x1a:
        deduplicationId = r.string();
        break;
      case 0x22: {
        const entryEnd = r.length() + r.pos;
        let name = '';
        let amount = 0;
        let bestEffort = false;
        while (r.pos < entryEnd) {
          const t = r.uint32();
          if (t === 0x0a) name = r.string();
          else if (t === 0x12) {
            const paramsEnd = r.length() + r.pos;
            while (r.pos < paramsEnd) {
              const p = r.uint32();
              if (p === 0x08) amount = r.int64();
              else if (p === 0x10) bestEffort = r.bool();
              else r.skip(p & 7);
            }
          } else r.skip(t & 7);
        }
        quotas.set(name, { amount, bestEffort });
        break;
      }
      default:
        r.skip(tag & 7);
    }
  }
  const bag = new MutableBag();
  if (attrStart >= 0) readCompressedInto(bag, buf, attrStart, attrEnd, globalWords);
  return { bag, globalWordCount, deduplicationId, quotas };
}

/**
 * The attribute names of one Report request, each with a slot number shared by all its entries.
 * `index` is an object without a prototype (so no name finds an inherited property) rather than a
 * Map: every attribute an expression reads is looked up in it (ReportBag.get), and a property load
 * is handled by the load's inline cache where Map.get is a call into a builtin each time.
 */
class Slots {
  readonly index: Record<string, number | undefined> = Object.create(null);
  readonly names: string[] = [];
  slot(name: string): number {
    let i = this.index[name];
    if (i === undefined) {
      i = this.names.length;
      this.names.push(name);
      this.index[name] = i;
    }
    return i;
  }
}

/**
 * A Report entry's timestamp: its Date is made when first read, and shared by the entries that
 * hold it (a delta-encoded entry keeps its attributes' values, the same JS values, from the entry
 * before it). Most timestamps a sidecar reports are never read (response.time in Istio's default
 * config), and a Date is a call into the runtime to make.
 */
class LazyDate {
  private d: Date | null = null;
  constructor(private readonly ms: number) {}
  date(): Date {
    return (this.d ??= new Date(this.ms));
  }
}

/**
 * One decoded Report entry: values and types by slot. Copying an entry's state for the next delta
 * is two array copies instead of rebuilding two Maps (the decode cost of a Report entry was
 * mostly that copy).
 */
export class ReportBag implements Bag {
  constructor(
    private readonly slots: Slots,
    private readonly values: Array<AttributeValue | LazyDate | undefined>,
    private readonly types: Array<ValueType | undefined>,
    /**
     * DELTA_ENCODING: the entry before this one in its request, null for the first entry and for
     * INDEPENDENT_ENCODING. Every attribute not in `changed` has the same value (the same JS value)
     * here as in `prev`, so what was worked out from it alone can be kept (Mixer's instances).
     */
    readonly prev: ReportBag | null = null,
    /** The slots (in `slotNames`) this entry set (over `prev`; all of them without one); may repeat. */
    readonly changedSlots: readonly number[] = [],
  ) {}

  /** The names of the slots, the same array for every entry of a request (it grows as names are seen). */
  get slotNames(): readonly string[] {
    return this.slots.names;
  }

  get(name: string): AttributeValue | undefined {
    const i = this.slots.index[name];
    if (i === undefined) return undefined;
    const v = this.values[i];
    return v instanceof LazyDate ? v.date() : v;
  }
  /**
   * The decoder's maps are plain objects whose own values are all strings, and what they inherit
   * from Object.prototype is no string: so a string under `key` is the map's own entry, without a
   * hasOwnProperty call (a second lookup by a key that differs from call to call).
   */
  mapEntry(name: string, key: string): string | undefined {
    const m = this.get(name);
    if (m === undefined || typeof m !== 'object' || m instanceof Date || m instanceof Uint8Array) return undefined;
    const v = (m as Record<string, unknown>)[key];
    return typeof v === 'string' ? v : undefined;
  }
  *names(): Iterable<string> {
    for (let i = 0; i < this.values.length; i++) if (this.values[i] !== undefined) yield this.slots.names[i];
  }
  typeOf(name: string): ValueType | undefined {
    const i = this.slots.index[name];
    return i === undefined ? undefined : this.types[i];
  }
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
  get size(): number {
    let n = 0;
    for (const v of this.values) if (v !== undefined) n++;
    return n;
  }
  toRecord(): Record<string, AttributeValue> {
    const out: Record<string, AttributeValue> = {};
    for (const n of this.names()) out[n] = this.get(n) as AttributeValue;
    return out;
  }
}

/** The state entries are decoded into. */
class Accumulator implements AttributeSink {
  values: Array<AttributeValue | LazyDate | undefined> = [];
  types: Array<ValueType | undefined> = [];
  /**
   * `types` is also the last bag's: copy it before writing. Along a delta-encoded Report the types
   * rarely change (an update sets a new value of the same attribute, so of the same type), so the
   * entries share one types array until one does, instead of copying it per entry.
   */
  private typesShared = false;
  /** Slots set since the last `bag()`. */
  changed: number[] = [];
  private last: ReportBag | null = null;
  /** The slot of each name index (global dictionary, and the request's default_words), once seen. */
  private readonly globalSlots: number[] = [];
  private readonly localSlots: number[] = [];
  constructor(private readonly slots: Slots) {}
  set(name: string, value: AttributeValue, type: ValueType): void {
    this.setSlot(this.slots.slot(name), value, type);
  }
  /** The slot of the name at `key` in `globalWords` / `words` (the same words for every call). */
  slotOfKey(key: number, globalWords: readonly string[], words: readonly string[]): number {
    const cache = key >= 0 ? this.globalSlots : this.localSlots;
    const at = key >= 0 ? key : -key - 1;
    let i = cache[at];
    if (i === undefined) {
      i = this.slots.slot(lookupWord(key, globalWords, words));
      cache[at] = i;
    }
    return i;
  }
  setSlot(i: number, value: AttributeValue | LazyDate, type: ValueType): void {
    this.values[i] = value;
    if (this.types[i] !== type) {
      if (this.typesShared) {
        this.types = this.types.slice();
        this.typesShared = false;
      }
      this.types[i] = type;
    }
    this.changed.push(i);
  }
  /** The state now as a bag of its own (`take`: hand the arrays over and start empty). */
  bag(take: boolean): ReportBag {
    const changed = this.changed;
    this.changed = [];
    if (!take) {
      this.typesShared = true;
      return (this.last = new ReportBag(this.slots, this.values.slice(), this.types, this.last, changed));
    }
    const out = new ReportBag(this.slots, this.values, this.types, null, changed);
    this.values = [];
    this.types = [];
    return out;
  }
}

/**
 * ReportRequest: attributes = 1 (repeated), default_words = 2, global_word_count = 3,
 * repeated_attributes_semantics = 4 (istio/api `mixer/v1/mixer.proto`, added after 1.0) →
 * one independent bag per entry. DELTA_ENCODING (0, the default, all a 1.0 proxy sends): each
 * entry updates the bag built from the entries before it. INDEPENDENT_ENCODING (1): each entry is
 * a whole bag of its own.
 */
export function decodeReportRequest(buf: Buffer, globalWords: readonly string[] = GLOBAL_WORDS): ReportBag[] {
  const r = new ProtoReader(buf);
  const ranges: number[] = [];
  const defaultWords: string[] = [];
  let independent = false;
  while (!r.done) {
    const tag = r.uint32();
    if (tag === 0x0a) {
      const n = r.length();
      ranges.push(r.pos, r.pos + n);
      r.pos += n;
    } else if (tag === 0x12) defaultWords.push(r.string());
    else if (tag === 0x20) independent = r.uint32() === 1;
    else r.skip(tag & 7);
  }
  const out: ReportBag[] = [];
  const acc = new Accumulator(new Slots());
  for (let i = 0; i < ranges.length; i += 2) {
    readCompressedInto(acc, buf, ranges[i], ranges[i + 1], globalWords, defaultWords);
    out.push(acc.bag(independent));
  }
  return out;
}
