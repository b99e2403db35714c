/**
 * istio.mixer.v1.ReportRequest bytes written entry by entry, as requests complete (the proxy's
 * report batch), instead of keeping every bag until the batch is flushed and encoding the object
 * form then. Field numbers from istio/api `mixer/v1/mixer.proto`: attributes = 1 (repeated
 * CompressedAttributes), default_words = 2, global_word_count = 3, repeated_attributes_semantics
 * = 4 (DELTA_ENCODING = 0, INDEPENDENT_ENCODING = 1).
 *
 * DELTA_ENCODING: each entry updates the bag built from the entries before it, and an update can
 * only set attributes, never remove one. So bags go into one request per sequence of attribute
 * names (a batch of requests of one kind is one request); within it an entry carries only the
 * attributes whose value differs from the previous entry's. All entries of a request share its
 * `default_words`. Each entry is written when it is added, so the bag can be dropped at once and
 * a flush only appends the words.
 */
import { MutableBag, SlotBag, type AttributeValue, type Bag, type StringMap } from '../bag';
import { WordTable, wireType } from '../compressed';
import { GLOBAL_WORDS } from '../global-dictionary';
import { ISTIO_MANIFEST, type Manifest, type ValueType } from '../manifest';
import { FIXED64, LEN, ProtoWriter, VARINT } from './writer';

export const DELTA_ENCODING = 0;
export const INDEPENDENT_ENCODING = 1;

/** The keys and values of a map attribute as last written, with their word indices. */
interface MapWords {
  keys: string[];
  keyIdx: number[];
  vals: string[];
  valIdx: number[];
}

/** One request being written: the entries of one sequence of attribute names. */
class Group {
  readonly out = new ProtoWriter(16 * 1024);
  readonly words = new WordTable();
  /** Per map attribute (request.headers): most of its keys and values repeat from entry to entry. */
  readonly maps = new Map<string, MapWords>();
  /** The name in each slot of the SlotBags last written and its word index. */
  readonly slotNames: string[] = [];
  readonly slotWords: number[] = [];
  /** The manifest's type of the name in each slot (undefined: not in the manifest). */
  readonly slotTypes: Array<ValueType | undefined> = [];
  prev: Bag | null = null;
  /** The base `prev` shared unchanged (SlotBag.sharedBase), if any. */
  prevBase: MutableBag | null = null;
  entries = 0;
}

/** A node of the trie of attribute-name sequences; the node a bag's names end on picks its group. */
interface ShapeNode {
  next: Map<string, ShapeNode> | null;
  group: Group | null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Same keys and values (values are strings, so a key missing from `b` reads as a difference). */
function sameMap(a: StringMap, b: StringMap): boolean {
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) if (--n < 0) return false;
  return n === 0;
}

/** Whether `b` (of `bag`) can be left out of a delta entry following `prevBag`'s `a`. */
function unchanged(a: AttributeValue | undefined, b: AttributeValue, prevBag: Bag, bag: Bag, name: string): boolean {
  if (a === b) return typeof b !== 'number' || prevBag.typeOf(name) === bag.typeOf(name);
  if (a === undefined || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  if (a instanceof Uint8Array) return b instanceof Uint8Array && sameBytes(a, b);
  if (b instanceof Date || b instanceof Uint8Array) return false;
  return sameMap(a as StringMap, b as StringMap);
}

/** `unchanged` for two values of one slot of bags over the same base (their explicit types given). */
function unchangedSlot(
  a: AttributeValue,
  b: AttributeValue,
  ta: ValueType | undefined,
  tb: ValueType | undefined,
): boolean {
  if (a === b) return typeof b !== 'number' || ta === tb;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  if (a instanceof Uint8Array) return b instanceof Uint8Array && sameBytes(a, b);
  if (b instanceof Date || b instanceof Uint8Array) return false;
  return sameMap(a as StringMap, b as StringMap);
}

/** google.protobuf.Timestamp / Duration from milliseconds (nanos kept ≥ 0, as a Timestamp needs). */
function millis(w: ProtoWriter, field: number, ms: number): void {
  const seconds = Math.floor(ms / 1000);
  w.secondsNanos(field, seconds, Math.round((ms - seconds * 1000) * 1e6));
}

/** For the wire type of a value with no explicit type: the manifest's, else guessed from the value. */
const UNTYPED: Bag = new MutableBag();

/** The CompressedAttributes map field that carries each value type. */
const FIELD_OF: Readonly<Record<ValueType, number>> = {
  STRING: 2,
  DNS_NAME: 2,
  EMAIL_ADDRESS: 2,
  URI: 2,
  INT64: 3,
  DOUBLE: 4,
  BOOL: 5,
  TIMESTAMP: 6,
  DURATION: 7,
  IP_ADDRESS: 8,
  STRING_MAP: 9,
};

/** One attribute as a map entry `{1: sint32 name, 2: value}` of its CompressedAttributes field. */
function writeAttribute(
  w: ProtoWriter,
  g: Group,
  name: string,
  value: AttributeValue,
  type: ValueType,
  k = g.words.index(name),
): void {
  const words = g.words;
  const m = w.begin(FIELD_OF[type]);
  w.tag(1, VARINT);
  w.sint32(k);
  switch (type) {
    case 'STRING':
    case 'DNS_NAME':
    case 'EMAIL_ADDRESS':
    case 'URI':
      w.tag(2, VARINT);
      w.sint32(words.index(typeof value === 'string' ? value : String(value)));
      break;
    case 'INT64':
      w.tag(2, VARINT);
      w.int64(Math.trunc(Number(value)));
      break;
    case 'DOUBLE':
      w.tag(2, FIXED64);
      w.double(Number(value));
      break;
    case 'BOOL':
      w.tag(2, VARINT);
      w.varint(value ? 1 : 0);
      break;
    case 'TIMESTAMP':
      millis(w, 2, value instanceof Date ? value.getTime() : Number(value));
      break;
    case 'DURATION':
      millis(w, 2, Number(value));
      break;
    case 'IP_ADDRESS':
      w.tag(2, LEN);
      w.bytes(value as Uint8Array);
      break;
    case 'STRING_MAP': {
      const map = value as StringMap;
      let memo = g.maps.get(name);
      if (!memo) g.maps.set(name, (memo = { keys: [], keyIdx: [], vals: [], valIdx: [] }));
      const body = w.begin(2);
      let i = 0;
      for (const mk in map) {
        const mv = map[mk];
        // a key or value the attribute's last map had at this place needs no word lookup
        if (memo.keys[i] !== mk) {
          memo.keys[i] = mk;
          memo.keyIdx[i] = words.index(mk);
        }
        if (memo.vals[i] !== mv) {
          memo.vals[i] = mv;
          memo.valIdx[i] = words.index(mv);
        }
        const e = w.begin(1);
        w.tag(1, VARINT);
        w.sint32(memo.keyIdx[i]);
        w.tag(2, VARINT);
        w.sint32(memo.valIdx[i]);
        w.end(e);
        i++;
      }
      w.end(body);
      break;
    }
  }
  w.end(m);
}

export interface EncodedReport {
  /** ReportRequest bytes. */
  bytes: Buffer;
  entries: number;
}

export class ReportEncoder {
  private readonly root: ShapeNode = { next: null, group: null };
  private groups: Group[] = [];
  private count = 0;
  private lastNames: string[] | null = null;
  private lastGroup: Group | null = null;
  private lastBase: MutableBag | null = null;

  constructor(private readonly manifest: Manifest = ISTIO_MANIFEST) {}

  /** Entries added since the last `finish`. */
  get size(): number {
    return this.count;
  }

  /**
   * Writes `bag` as the next entry of the request for its attribute names. The bag must not change
   * afterwards: it stays the base the next entry of its request is compared with.
   */
  add(bag: Bag): void {
    const base = bag instanceof SlotBag ? bag.sharedBase() : null;
    const g = this.groupOf(bag, base);
    const w = g.out;
    const prev = g.prev;
    const entry = w.begin(1);
    if (base !== null && prev !== null && g.prevBase === base) {
      // Both share the base (never changed): its names are left out without a look, and the
      // bags' own names are the same, slot by slot.
      const p = prev as SlotBag;
      const b = bag as SlotBag;
      for (let i = 0; i < b.keys.length; i++) {
        const v = b.vals[i];
        const name = b.keys[i];
        if (unchangedSlot(p.vals[i], v, p.types[i], b.types[i])) continue;
        if (g.slotNames[i] !== name) {
          g.slotNames[i] = name;
          g.slotWords[i] = g.words.index(name);
          g.slotTypes[i] = this.manifest.get(name);
        }
        const t = b.types[i] ?? g.slotTypes[i] ?? wireType(UNTYPED, name, v, this.manifest);
        writeAttribute(w, g, name, v, t, g.slotWords[i]);
      }
    } else {
      for (const name of this.lastNames as string[]) {
        const v = bag.get(name);
        if (v === undefined) continue;
        if (prev !== null && unchanged(prev.get(name), v, prev, bag, name)) continue;
        writeAttribute(w, g, name, v, wireType(bag, name, v, this.manifest));
      }
    }
    w.end(entry);
    g.prev = bag;
    g.prevBase = base;
    g.entries++;
    this.count++;
  }

  /**
   * The request for the bag's sequence of attribute names (left in `lastNames`): the previous
   * bag's when the names repeat (only the names past a base both share are compared), else found
   * in the trie.
   */
  private groupOf(bag: Bag, base: MutableBag | null): Group {
    const last = this.lastNames;
    if (last !== null && this.lastGroup !== null && base === this.lastBase) {
      let i = base !== null ? base.size : 0;
      let same = true;
      for (const name of base !== null ? (bag as SlotBag).keys : bag.names()) {
        if (i >= last.length || last[i] !== name) {
          same = false;
          break;
        }
        i++;
      }
      if (same && i === last.length) return this.lastGroup;
    }
    const names = [...bag.names()];
    this.lastNames = names;
    this.lastBase = base;
    let node = this.root;
    for (const name of names) {
      const next = (node.next ??= new Map());
      let child = next.get(name);
      if (!child) next.set(name, (child = { next: null, group: null }));
      node = child;
    }
    let g = node.group;
    if (!g) {
      g = node.group = new Group();
      this.groups.push(g);
    }
    this.lastGroup = g;
    return g;
  }

  /** The requests written since the last call (one per sequence of attribute names), and a fresh start. */
  finish(): EncodedReport[] {
    const out: EncodedReport[] = [];
    for (const g of this.groups) {
      const w = g.out;
      for (const word of g.words.words) {
        w.tag(2, LEN);
        w.string(word);
      }
      w.tag(3, VARINT);
      w.varint(GLOBAL_WORDS.length);
      // repeated_attributes_semantics = DELTA_ENCODING is proto3's default: not written
      out.push({ bytes: w.finish(), entries: g.entries });
    }
    this.groups = [];
    this.root.next = null;
    this.count = 0;
    this.lastNames = null;
    this.lastGroup = null;
    this.lastBase = null;
    return out;
  }
}
