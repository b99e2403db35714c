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
 * `default_words`. Each entry is written when it is added, so the bag can be dropped at once, and
 * the words it used first are written as `default_words` elements right after it (a repeated field
 * may be interleaved with others; its elements keep their order), so no string waits for the
 * flush and a flush only ends the message.
 *
 * A word is looked up among the request's earlier words, so a repeated header value gets one
 * index. A value that is new at its place entry after entry (a request id) is not remembered: past
 * `VOLATILE_AFTER` new words in a row at one place (an attribute, or the n-th entry of a map), a
 * new word there is written without being added to the lookup (a repeat of it in the same entry
 * still finds it), so the lookup does not grow by one string per request until the flush.
 */
import { MutableBag, SlotBag, type AttributeValue, type Bag, type StringMap } from '../bag';
import { globalWordIndex, wireType } from '../compressed';
import { GLOBAL_WORDS } from '../global-dictionary';
import { ISTIO_MANIFEST, type Manifest, type ValueType } from '../manifest';
import { FIXED64, LEN, ProtoWriter, VARINT } from './writer';

export const DELTA_ENCODING = 0;
export const INDEPENDENT_ENCODING = 1;

/** The keys and values of a map attribute as last written, with their word indices. */
interface MapWords {
  keys: string[];
  /** The word index of each key and value, zigzag-encoded as written. */
  keyZz: number[];
  vals: string[];
  valZz: number[];
  /** New words in a row at each place (see `BatchWords.at`). */
  valNew: number[];
}

/** New words in a row at one place after which that place's new words are not remembered. */
const VOLATILE_AFTER = 4;
/** At such a place, one word in this many is still looked up. */
const RECHECK_EVERY = 32;

/**
 * The words of one request: their indices (-1 for the first), and the words first used by the
 * entry being written, to be written after it as `default_words` elements.
 */
class BatchWords {
  private readonly local = new Map<string, number>();
  private count = 0;
  /**
   * Words first used by the entry being written: the first `pendingCount` (the array is written
   * over entry after entry, never emptied: setting an array's length is a runtime call).
   */
  readonly pending: string[] = [];
  pendingCount = 0;
  /** The last word written without being remembered, and its index. */
  private lastFresh: string | null = null;
  private lastFreshIdx = 0;

  private append(word: string): number {
    this.pending[this.pendingCount++] = word;
    return -++this.count;
  }

  /** The index of `word`, remembered for the rest of the request. */
  index(word: string): number {
    const g = globalWordIndex(word);
    if (g !== undefined) return g;
    let l = this.local.get(word);
    if (l === undefined) {
      l = this.append(word);
      this.local.set(word, l);
    }
    return l;
  }

  /**
   * The index of `word` at a place whose count of new words in a row is `news[at]` (updated): a
   * known word resets it; a new one counts, and once the place has had `VOLATILE_AFTER` in a row
   * the word is written without being remembered.
   */
  at(word: string, news: number[], at: number): number {
    const n = news[at] ?? 0;
    // the same id is often in two attributes of an entry (x-request-id and request.id)
    if (word === this.lastFresh) {
      news[at] = n + 1;
      return this.lastFreshIdx;
    }
    // at a place whose words keep being new, most are not looked up at all (a fresh string's
    // hash is not even computed); one in RECHECK_EVERY is, so a place that settles is noticed
    if (n >= VOLATILE_AFTER && n % RECHECK_EVERY !== 0) {
      news[at] = n + 1;
      return this.fresh(word);
    }
    const g = globalWordIndex(word);
    if (g !== undefined) {
      news[at] = 0;
      return g;
    }
    const l = this.local.get(word);
    if (l !== undefined) {
      news[at] = 0;
      return l;
    }
    news[at] = n + 1;
    // remembered (also when looked up at a volatile place, so a place that settles on a few
    // values finds them at its next looks)
    const i = this.fresh(word);
    this.local.set(word, i);
    return i;
  }

  /** A new index for `word` (a repeat of it right after finds it). */
  private fresh(word: string): number {
    this.lastFresh = word;
    return (this.lastFreshIdx = this.append(word));
  }
}

const MIN_REQUEST_BYTES = 16 * 1024;
const MAX_SIZE_HINT = 4 * 1024 * 1024;

/** One request being written: the entries of one sequence of attribute names. */
class Group {
  readonly out: ProtoWriter;
  readonly words = new BatchWords();
  /** New words in a row at each place of the name sequence (see `BatchWords.at`). */
  readonly news: number[] = [];
  /** Per map attribute (request.headers), by place: most of its keys and values repeat from entry to entry. */
  readonly maps: Array<MapWords | undefined> = [];
  /** The name in each slot of the entries last written over a shared base and its word index. */
  readonly slotNames: string[] = [];
  readonly slotWords: number[] = [];
  /** The manifest's type of the name in each slot (undefined: not in the manifest). */
  readonly slotTypes: Array<ValueType | undefined> = [];
  /** The previous entry as a bag, when it came as one (see `previous`). */
  prev: Bag | null = null;
  /**
   * The shared base of the previous entry, when it was one over such a base (null otherwise), with
   * its own names and, slot by slot, the values and explicit types the next entry is compared with
   * (copied: `addOwn`'s arrays are the caller's scratch).
   */
  prevBase: MutableBag | null = null;
  prevKeys: readonly string[] = [];
  readonly prevVals: AttributeValue[] = [];
  readonly prevTypes: Array<ValueType | undefined> = [];
  entries = 0;
  constructor(size: number, reuse?: Buffer) {
    this.out = new ProtoWriter(size, reuse);
  }

  /** The previous entry as a bag (made from its slots when it came without one), or null for the first. */
  previous(): Bag | null {
    if (this.prev === null && this.prevBase !== null) {
      const n = this.prevKeys.length;
      this.prev = SlotBag.withNames(
        this.prevBase,
        this.prevKeys as string[],
        this.prevVals.slice(0, n),
        this.prevTypes.slice(0, n),
      );
    }
    return this.prev;
  }
}

/** A node of the trie of attribute-name sequences; the node a bag's names end on picks its group. */
interface ShapeNode {
  next: Map<string, ShapeNode> | null;
  group: Group | null;
}

const zigzag = (v: number): number => ((v << 1) ^ (v >> 31)) >>> 0;

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
  return a !== undefined && sameObject(a, b);
}

/** Whether two values that are not the same value are objects with the same content. */
function sameObject(a: AttributeValue, b: AttributeValue): boolean {
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
  place: number,
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
      w.sint32(words.at(typeof value === 'string' ? value : String(value), g.news, place));
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
      let memo = g.maps[place];
      if (memo === undefined) g.maps[place] = memo = { keys: [], keyZz: [], vals: [], valZz: [], valNew: [] };
      const body = w.begin(2);
      let i = 0;
      for (const mk in map) {
        const mv = map[mk];
        // a key or value the attribute's last map had at this place needs no word lookup
        if (memo.keys[i] !== mk) {
          memo.keys[i] = mk;
          memo.keyZz[i] = zigzag(words.index(mk));
        }
        if (memo.vals[i] !== mv) {
          memo.vals[i] = mv;
          memo.valZz[i] = zigzag(words.at(mv, memo.valNew, i));
        }
        w.pairEntry(memo.keyZz[i], memo.valZz[i]);
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
  /** The buffer `bytes` is a view of (see `ReportEncoder.recycle`). */
  readonly buffer: Buffer;
}

export class ReportEncoder {
  private readonly root: ShapeNode = { next: null, group: null };
  private groups: Group[] = [];
  private count = 0;
  private lastNames: string[] | null = null;
  private lastGroup: Group | null = null;
  private lastBase: MutableBag | null = null;
  /** The own names of the last entry over a shared base (its group is `lastGroup`). */
  private lastKeys: readonly string[] | null = null;
  private lastKeysLength = 0;
  /** Initial buffer size of a batch's first request (see `groupOf`). */
  private sizeHint = MIN_REQUEST_BYTES;
  /** A sent request's buffer, written over by the next batch's first request (see `recycle`). */
  private spare: Buffer | null = null;

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
    if (base !== null) {
      const b = bag as SlotBag;
      this.addOwn(base, b.keys, b.vals, b.types, b);
      return;
    }
    const g = this.groupOf(null, null, bag);
    const w = g.out;
    const entry = w.begin(1);
    this.writeBag(g, bag);
    this.endEntry(g, entry);
    g.prev = bag;
    g.prevBase = null;
  }

  /**
   * Writes the next entry: the attributes of `base` (never changed afterwards), then `keys[i]` =
   * `vals[i]` with explicit type `types[i]` (undefined: the manifest's) for each i < keys.length,
   * none of them a name of `base`. The Report path of a request without a bag: `keys` and `types`
   * must not change afterwards (shared by the entries of one kind of request), `vals` is only read
   * during the call. `bag`: the same entry as a bag, when the caller has one.
   */
  addOwn(
    base: MutableBag,
    keys: readonly string[],
    vals: readonly AttributeValue[],
    types: ReadonlyArray<ValueType | undefined>,
    bag: Bag | null = null,
  ): void {
    const g = this.groupOf(base, keys, bag);
    const w = g.out;
    const entry = w.begin(1);
    const n = keys.length;
    const pv = g.prevVals;
    const pt = g.prevTypes;
    if (g.prevBase === base) {
      // Both share the base (never changed): its names are left out without a look, and the
      // entries' own names are the same, slot by slot.
      const first = base.size;
      for (let i = 0; i < n; i++) {
        const v = vals[i];
        const a = pv[i];
        // the explicit types are read only for a number that stayed (a paced sidecar runs this
        // with cold caches: each array not read is cache lines not fetched)
        if (a === v ? typeof v !== 'number' || pt[i] === types[i] : sameObject(a, v)) continue;
        const t = types[i];
        pv[i] = v;
        pt[i] = t;
        const name = keys[i];
        if (g.slotNames[i] !== name) {
          g.slotNames[i] = name;
          g.slotWords[i] = g.words.index(name);
          g.slotTypes[i] = this.manifest.get(name);
        }
        writeAttribute(
          w,
          g,
          name,
          v,
          t ?? g.slotTypes[i] ?? wireType(UNTYPED, name, v, this.manifest),
          first + i,
          g.slotWords[i],
        );
      }
    } else {
      // the first entry over this base in its request: written in full, or against a bag
      this.writeBag(
        g,
        bag ?? SlotBag.withNames(base, keys as string[], vals.slice(0, n), types as Array<ValueType | undefined>),
      );
      for (let i = 0; i < n; i++) {
        pv[i] = vals[i];
        pt[i] = types[i];
      }
      g.prevBase = base;
    }
    g.prevKeys = keys;
    g.prev = bag;
    this.endEntry(g, entry);
  }

  /** An entry's attributes, each name of the request's sequence in turn, against the previous entry. */
  private writeBag(g: Group, bag: Bag): void {
    const w = g.out;
    const prev = g.previous();
    const names = this.lastNames as string[];
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const v = bag.get(name);
      if (v === undefined) continue;
      if (prev !== null && unchanged(prev.get(name), v, prev, bag, name)) continue;
      writeAttribute(w, g, name, v, wireType(bag, name, v, this.manifest), i);
    }
  }

  /** Ends the entry begun at `mark` and writes the words it used first after it. */
  private endEntry(g: Group, mark: number): void {
    const w = g.out;
    w.end(mark);
    const words = g.words;
    const pending = words.pending;
    for (let i = 0; i < words.pendingCount; i++) {
      w.tag(2, LEN);
      w.string(pending[i]);
    }
    words.pendingCount = 0;
    g.entries++;
    this.count++;
  }

  /**
   * The request for the entry's sequence of attribute names (left in `lastNames`): `base`'s then
   * `keys` when it has a shared base, else `bag`'s. The previous entry's when the names repeat
   * (only the names past a base both share are compared), else found in the trie.
   */
  private groupOf(base: MutableBag | null, keys: readonly string[] | null, bag: Bag | null): Group {
    const last = this.lastNames;
    // entries of one kind of request share their array of names (never changed)
    if (keys !== null && keys === this.lastKeys && keys.length === this.lastKeysLength && base === this.lastBase)
      return this.lastGroup as Group;
    this.lastKeys = keys;
    this.lastKeysLength = keys !== null ? keys.length : 0;
    if (last !== null && this.lastGroup !== null && base === this.lastBase) {
      let i = base !== null ? base.size : 0;
      let same = true;
      for (const name of keys ?? (bag as Bag).names()) {
        if (i >= last.length || last[i] !== name) {
          same = false;
          break;
        }
        i++;
      }
      if (same && i === last.length) return this.lastGroup;
    }
    const names = base !== null ? [...base.names(), ...(keys as readonly string[])] : [...(bag as Bag).names()];
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
      // the first request of a batch starts at the size the largest one reached in the last
      // batch (no doubling and copying as it grows), the others small
      if (this.groups.length === 0) {
        g = new Group(this.sizeHint, this.spare ?? undefined);
        if (g.out.buf === this.spare) this.spare = null;
      } else g = new Group(MIN_REQUEST_BYTES);
      node.group = g;
      this.groups.push(g);
    }
    this.lastGroup = g;
    return g;
  }

  /**
   * Hands back a request from `finish` whose bytes are no longer needed (sent, or failed for
   * good): the next batch's first request is written into its buffer, whose memory is mapped
   * already (a fresh buffer of a few hundred KB faults its pages in one by one as entries are
   * written, on the request path). The largest buffer handed back is kept.
   */
  recycle(report: EncodedReport): void {
    if (this.spare === null || report.buffer.length > this.spare.length) this.spare = report.buffer;
  }

  /** The requests written since the last call (one per sequence of attribute names), and a fresh start. */
  finish(): EncodedReport[] {
    const out: EncodedReport[] = [];
    let largest = 0;
    for (const g of this.groups) {
      const w = g.out;
      // the words are written already, after the entries that used them first
      w.tag(3, VARINT);
      w.varint(GLOBAL_WORDS.length);
      // repeated_attributes_semantics = DELTA_ENCODING is proto3's default: not written
      out.push({ bytes: w.finish(), entries: g.entries, buffer: w.buf });
      if (w.pos > largest) largest = w.pos;
    }
    if (this.groups.length > 0) this.sizeHint = Math.min(MAX_SIZE_HINT, Math.max(MIN_REQUEST_BYTES, largest + 1024));
    this.groups = [];
    this.root.next = null;
    this.count = 0;
    this.lastNames = null;
    this.lastGroup = null;
    this.lastBase = null;
    this.lastKeys = null;
    return out;
  }
}
