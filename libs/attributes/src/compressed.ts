/**
 * The compressed wire form of Mixer v1 attributes (istio.mixer.v1.CompressedAttributes),
 * in the JS shape protobufjs gives with `keepCase`: every name and string value is
 * an index; >= 0 into the global dictionary, < 0 into the message's own `words`
 * (index -1 is words[0]). Values go into one map per type.
 */
import { MutableBag, type AttributeValue, type Bag, type StringMap } from './bag';
import { GLOBAL_WORDS } from './global-dictionary';
import { ISTIO_MANIFEST, type Manifest, type ValueType } from './manifest';

/** Either a number, a decimal string or a protobufjs Long, as proto-loader's `longs` option decides. */
export type WireLong = number | string | { low: number; high: number; unsigned?: boolean };
export interface WireTimestamp {
  seconds: WireLong;
  nanos: number;
}
export type WireDuration = WireTimestamp;

export interface CompressedAttributes {
  words: string[];
  strings: Record<string, number>;
  int64s: Record<string, WireLong>;
  doubles: Record<string, number>;
  bools: Record<string, boolean>;
  timestamps: Record<string, WireTimestamp>;
  durations: Record<string, WireDuration>;
  bytes: Record<string, Uint8Array>;
  string_maps: Record<string, { entries: Record<string, number> }>;
}

export function emptyCompressed(): CompressedAttributes {
  return {
    words: [],
    strings: {},
    int64s: {},
    doubles: {},
    bools: {},
    timestamps: {},
    durations: {},
    bytes: {},
    string_maps: {},
  };
}

const GLOBAL_INDEX: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  GLOBAL_WORDS.forEach((w, i) => {
    if (!m.has(w)) m.set(w, i);
  });
  return m;
})();

/** The global dictionary index of `word`, if it is there. */
export function globalWordIndex(word: string): number | undefined {
  return GLOBAL_INDEX.get(word);
}

export function toNumber(v: WireLong | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  const lo = v.low >>> 0;
  return v.unsigned ? v.high * 4294967296 + lo : (v.high | 0) * 4294967296 + lo;
}

/** Assigns word indexes; one per message (Check) or shared by a batch (Report `default_words`). */
export class WordTable {
  readonly words: string[] = [];
  private readonly local = new Map<string, number>();
  constructor(private readonly global: ReadonlyMap<string, number> = GLOBAL_INDEX) {}
  index(word: string): number {
    const g = this.global.get(word);
    if (g !== undefined) return g;
    let l = this.local.get(word);
    if (l === undefined) {
      this.words.push(word);
      l = -this.words.length;
      this.local.set(word, l);
    }
    return l;
  }
}

/** The type an attribute travels as: explicit, then the manifest, then guessed from the JS value. */
export function wireType(bag: Bag, name: string, value: AttributeValue, manifest: Manifest): ValueType {
  const t = bag.typeOf(name) ?? manifest.get(name);
  if (t) return t;
  if (typeof value === 'string') return 'STRING';
  if (typeof value === 'number') return Number.isInteger(value) ? 'INT64' : 'DOUBLE';
  if (typeof value === 'boolean') return 'BOOL';
  if (value instanceof Date) return 'TIMESTAMP';
  if (value instanceof Uint8Array) return 'IP_ADDRESS';
  return 'STRING_MAP';
}

function toTimestamp(ms: number): WireTimestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Puts one attribute into `out` (names and strings through `words`). */
export function encodeAttribute(
  out: CompressedAttributes,
  words: WordTable,
  name: string,
  value: AttributeValue,
  type: ValueType,
): void {
  const k = words.index(name);
  switch (type) {
    case 'STRING':
    case 'DNS_NAME':
    case 'EMAIL_ADDRESS':
    case 'URI':
      out.strings[k] = words.index(String(value));
      return;
    case 'INT64':
      out.int64s[k] = Math.trunc(Number(value));
      return;
    case 'DOUBLE':
      out.doubles[k] = Number(value);
      return;
    case 'BOOL':
      out.bools[k] = Boolean(value);
      return;
    case 'TIMESTAMP':
      out.timestamps[k] = toTimestamp(value instanceof Date ? value.getTime() : Number(value));
      return;
    case 'DURATION':
      out.durations[k] = toTimestamp(Number(value));
      return;
    case 'IP_ADDRESS':
      out.bytes[k] = value as Uint8Array;
      return;
    case 'STRING_MAP': {
      const entries: Record<string, number> = {};
      for (const [mk, mv] of Object.entries(value as StringMap)) entries[words.index(mk)] = words.index(mv);
      out.string_maps[k] = { entries };
      return;
    }
  }
}

/** Encodes a whole bag with its own message-level words (Check). */
export function encodeBag(bag: Bag, manifest: Manifest = ISTIO_MANIFEST): CompressedAttributes {
  const out = emptyCompressed();
  const words = new WordTable();
  for (const name of bag.names()) {
    const v = bag.get(name);
    if (v === undefined) continue;
    encodeAttribute(out, words, name, v, wireType(bag, name, v, manifest));
  }
  out.words = words.words;
  return out;
}

export class DecodeError extends Error {}

/** Resolves one index against the global and message word lists. */
export function lookupWord(index: number, globalWords: readonly string[], messageWords: readonly string[]): string {
  if (index >= 0) {
    if (index >= globalWords.length)
      throw new DecodeError(`attribute index ${index} is not in the global dictionary (${globalWords.length} words)`);
    return globalWords[index];
  }
  const i = -index - 1;
  if (i >= messageWords.length)
    throw new DecodeError(`attribute index ${index} is not in the message dictionary (${messageWords.length} words)`);
  return messageWords[i];
}

const num = (k: string) => Number(k);

/**
 * Applies a compressed message onto `bag` (Mixer's UpdateBagFromProto: sets, never deletes).
 * `defaultWords` stands in when the message has no words of its own (Report `default_words`).
 */
export function updateBag(
  bag: MutableBag,
  msg: Partial<CompressedAttributes>,
  globalWords: readonly string[] = GLOBAL_WORDS,
  defaultWords: readonly string[] = [],
): MutableBag {
  const mw = msg.words && msg.words.length > 0 ? msg.words : defaultWords;
  const w = (i: number) => lookupWord(i, globalWords, mw);
  for (const [k, v] of Object.entries(msg.strings ?? {})) bag.set(w(num(k)), w(v), 'STRING');
  for (const [k, v] of Object.entries(msg.int64s ?? {})) bag.set(w(num(k)), toNumber(v), 'INT64');
  for (const [k, v] of Object.entries(msg.doubles ?? {})) bag.set(w(num(k)), Number(v), 'DOUBLE');
  for (const [k, v] of Object.entries(msg.bools ?? {})) bag.set(w(num(k)), Boolean(v), 'BOOL');
  for (const [k, v] of Object.entries(msg.timestamps ?? {}))
    bag.set(w(num(k)), new Date(toNumber(v.seconds) * 1000 + (v.nanos ?? 0) / 1e6), 'TIMESTAMP');
  for (const [k, v] of Object.entries(msg.durations ?? {}))
    bag.set(w(num(k)), toNumber(v.seconds) * 1000 + (v.nanos ?? 0) / 1e6, 'DURATION');
  for (const [k, v] of Object.entries(msg.bytes ?? {})) bag.set(w(num(k)), new Uint8Array(v), 'IP_ADDRESS');
  for (const [k, v] of Object.entries(msg.string_maps ?? {})) {
    const m: Record<string, string> = {};
    for (const [mk, mv] of Object.entries(v.entries ?? {})) m[w(num(mk))] = w(mv);
    bag.set(w(num(k)), m, 'STRING_MAP');
  }
  return bag;
}

export function decodeBag(
  msg: Partial<CompressedAttributes>,
  globalWords: readonly string[] = GLOBAL_WORDS,
): MutableBag {
  return updateBag(new MutableBag(), msg, globalWords);
}
