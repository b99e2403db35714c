/**
 * The attribute bag: what a proxy knows about one request or connection,
 * named with Istio's vocabulary. JS forms of the value types:
 * STRING/DNS_NAME/EMAIL_ADDRESS/URI → string, INT64/DOUBLE → number,
 * BOOL → boolean, TIMESTAMP → Date (or milliseconds set with the explicit type, as the proxy's
 * request bags carry request.time), DURATION → number (milliseconds),
 * IP_ADDRESS → Uint8Array (4 or 16 bytes), STRING_MAP → Record<string,string>.
 */
import type { ValueType } from './manifest';

export type StringMap = Readonly<Record<string, string>>;
export type AttributeValue = string | number | boolean | Date | Uint8Array | StringMap;

/** Read access used by expressions; `mapEntry` lets a tracking bag record map keys. */
export interface Bag {
  get(name: string): AttributeValue | undefined;
  mapEntry(name: string, key: string): string | undefined;
  names(): Iterable<string>;
  /** The wire type when it is known (decoded or set explicitly). */
  typeOf(name: string): ValueType | undefined;
}

/** A bag that can be written (what the proxy's filters fill). */
export interface SettableBag extends Bag {
  set(name: string, value: AttributeValue, type?: ValueType): this;
  has(name: string): boolean;
}

export class MutableBag implements SettableBag {
  private readonly values = new Map<string, AttributeValue>();
  /** Explicit wire types; most bags have none or few, so the map is made on the first. */
  private types: Map<string, ValueType> | null = null;

  constructor(parent?: Bag) {
    if (parent) for (const n of parent.names()) this.set(n, parent.get(n) as AttributeValue, parent.typeOf(n));
  }

  static from(
    record: Readonly<Record<string, AttributeValue>>,
    types?: Readonly<Record<string, ValueType>>,
  ): MutableBag {
    const bag = new MutableBag();
    for (const [k, v] of Object.entries(record)) bag.set(k, v, types?.[k]);
    return bag;
  }

  get(name: string): AttributeValue | undefined {
    return this.values.get(name);
  }
  mapEntry(name: string, key: string): string | undefined {
    return mapEntryOf(this.values.get(name), key);
  }
  names(): Iterable<string> {
    return this.values.keys();
  }
  typeOf(name: string): ValueType | undefined {
    return this.types?.get(name);
  }
  has(name: string): boolean {
    return this.values.has(name);
  }
  get size(): number {
    return this.values.size;
  }

  set(name: string, value: AttributeValue, type?: ValueType): this {
    const n = this.values.size;
    this.values.set(name, value);
    if (type) (this.types ??= new Map()).set(name, type);
    else if (this.values.size === n && this.types !== null) this.types.delete(name); // a new name has no type to drop
    return this;
  }
  delete(name: string): void {
    this.values.delete(name);
    this.types?.delete(name);
  }
  clear(): void {
    this.values.clear();
    this.types = null;
  }
  toRecord(): Record<string, AttributeValue> {
    return Object.fromEntries(this.values);
  }
  /** An independent copy (values are shared: they are never mutated in place). */
  clone(): MutableBag {
    const out = new MutableBag();
    for (const [k, v] of this.values) out.values.set(k, v);
    if (this.types !== null) out.types = new Map(this.types);
    return out;
  }
}

function mapEntryOf(m: AttributeValue | undefined, key: string): string | undefined {
  if (m === undefined || typeof m !== 'object' || m instanceof Date || m instanceof Uint8Array) return undefined;
  return Object.prototype.hasOwnProperty.call(m, key) ? (m as StringMap)[key] : undefined;
}

/**
 * The proxy's bag of one request: its own twenty-odd attributes kept in arrays (found by a short
 * scan of the constant names, no Map built per request) over a `base` of static attributes shared
 * by many requests (the listener's, the route's, the caller's forwarded ones; prepared once, never
 * changed afterwards). The base's names come first, in its order, as if they had been set first;
 * a base name set again keeps its place. The report encoder compares two such bags slot by slot.
 */
export class SlotBag implements SettableBag {
  /**
   * Own names, values and explicit types, in the order first set (read them, never write them:
   * `keys` and `types` may be shared with other bags, see `withNames`).
   */
  keys: string[];
  readonly vals: AttributeValue[];
  types: Array<ValueType | undefined>;
  /** Whether `keys` and `types` are shared (copied before this bag changes them). */
  private sharedNames = false;
  /** Whether a name of the base was set again here (then the base is not shared unchanged). */
  private shadows = false;
  /** Whether `add` looks the name up in the base (see `addsAreNew`). */
  private addChecksBase = true;
  readonly base: MutableBag | null;

  constructor(base: MutableBag | null = null) {
    this.base = base !== null && base.size > 0 ? base : null;
    this.keys = [];
    this.vals = [];
    this.types = [];
  }

  /**
   * A bag of `vals` named by `keys` with explicit `types` (arrays of one length), over `base`,
   * which has none of those names. `keys` and `types` may be shared by many bags (a builder's
   * names for one kind of request) and are never changed through this bag; `vals` becomes the
   * bag's own.
   */
  static withNames(
    base: MutableBag | null,
    keys: string[],
    vals: AttributeValue[],
    types: Array<ValueType | undefined>,
  ): SlotBag {
    const bag = new SlotBag(base);
    bag.keys = keys;
    (bag as { vals: AttributeValue[] }).vals = vals;
    bag.types = types;
    bag.sharedNames = true;
    return bag;
  }

  /** Makes `keys` and `types` this bag's own before a change. */
  private ownNames(): void {
    if (!this.sharedNames) return;
    this.keys = this.keys.slice();
    this.types = this.types.slice();
    this.sharedNames = false;
  }

  /**
   * The base this bag shares unchanged (none of its names set again here), or null. Then the
   * bag's first `base.size` names are the base's and the rest are `keys`.
   */
  sharedBase(): MutableBag | null {
    return this.shadows ? null : this.base;
  }

  private slot(name: string): number {
    const k = this.keys;
    for (let i = 0; i < k.length; i++) if (k[i] === name) return i;
    return -1;
  }
  get(name: string): AttributeValue | undefined {
    const i = this.slot(name);
    return i >= 0 ? this.vals[i] : this.base?.get(name);
  }
  mapEntry(name: string, key: string): string | undefined {
    return mapEntryOf(this.get(name), key);
  }
  names(): Iterable<string> {
    return this.base === null ? this.keys : this.layeredNames(this.base);
  }
  private *layeredNames(base: MutableBag): Generator<string> {
    yield* base.names();
    if (!this.shadows) yield* this.keys;
    else for (const n of this.keys) if (!base.has(n)) yield n;
  }
  typeOf(name: string): ValueType | undefined {
    const i = this.slot(name);
    return i >= 0 ? this.types[i] : this.base?.typeOf(name);
  }
  has(name: string): boolean {
    return this.slot(name) >= 0 || (this.base !== null && this.base.has(name));
  }
  get size(): number {
    let n = this.keys.length;
    if (this.base !== null) {
      n += this.base.size;
      if (this.shadows) for (const k of this.keys) if (this.base.has(k)) n--;
    }
    return n;
  }

  set(name: string, value: AttributeValue, type?: ValueType): this {
    const i = this.slot(name);
    this.ownNames();
    if (i >= 0) {
      this.vals[i] = value;
      this.types[i] = type;
      return this;
    }
    if (this.base !== null && !this.shadows && this.base.has(name)) this.shadows = true;
    this.keys.push(name);
    this.vals.push(value);
    this.types.push(type);
    return this;
  }
  /**
   * `set` for a name this bag has not set yet, which the caller knows (a builder setting a fixed
   * list of distinct names): the own names are not scanned, only the base is looked up. Setting
   * a name twice this way would leave both in the bag.
   */
  add(name: string, value: AttributeValue, type?: ValueType): this {
    this.ownNames();
    if (this.addChecksBase && this.base !== null && !this.shadows && this.base.has(name)) this.shadows = true;
    this.keys.push(name);
    this.vals.push(value);
    this.types.push(type);
    return this;
  }
  /**
   * The caller knows the base has none of the names it will `add` (it checked the base, which
   * never changes, once for all of them): `add` then looks nothing up. `set` still does.
   */
  addsAreNew(): this {
    this.addChecksBase = false;
    return this;
  }
  /** Whether the base (not this bag's own names) has `name`. */
  baseHas(name: string): boolean {
    return this.base !== null && this.base.has(name);
  }
  toRecord(): Record<string, AttributeValue> {
    const out: Record<string, AttributeValue> = {};
    for (const n of this.names()) out[n] = this.get(n) as AttributeValue;
    return out;
  }
}

export type ReferenceCondition = 'ABSENCE' | 'EXACT';
export interface Reference {
  name: string;
  condition: ReferenceCondition;
  /** For STRING_MAP lookups of one key. */
  mapKey?: string;
}

/**
 * Wraps a bag and records every lookup, so Mixer can return the
 * `referenced_attributes` the client check cache is keyed on. Each attribute (and
 * each map key of a STRING_MAP) is recorded once, on its first lookup, in lookup order.
 */
export class TrackingBag implements Bag {
  private readonly refs: Reference[] = [];
  private readonly plain = new Set<string>();
  private keyed: Map<string, Set<string>> | null = null;
  constructor(private readonly inner: Bag) {}

  get(name: string): AttributeValue | undefined {
    const v = this.inner.get(name);
    if (!this.plain.has(name)) {
      this.plain.add(name);
      this.refs.push({ name, condition: v === undefined ? 'ABSENCE' : 'EXACT' });
    }
    return v;
  }
  mapEntry(name: string, key: string): string | undefined {
    const v = this.inner.mapEntry(name, key);
    this.keyed ??= new Map();
    let keys = this.keyed.get(name);
    if (!keys) this.keyed.set(name, (keys = new Set()));
    if (!keys.has(key)) {
      keys.add(key);
      this.refs.push({ name, mapKey: key, condition: v === undefined ? 'ABSENCE' : 'EXACT' });
    }
    return v;
  }
  names(): Iterable<string> {
    return this.inner.names();
  }
  typeOf(name: string): ValueType | undefined {
    return this.inner.typeOf(name);
  }
  /** The references so far (the live list: read it when the lookups are done). */
  references(): Reference[] {
    return this.refs;
  }
}

/** Formats an IP_ADDRESS value for logs and labels. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length === 16) {
    const parts: string[] = [];
    for (let i = 0; i < 16; i += 2) parts.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
    return parts.join(':');
  }
  return Buffer.from(bytes).toString('hex');
}

// Proxies parse the same few peer and local addresses for every request: remember the answers
// (values are never changed in place, so the bytes can be shared).
const parsedIps = new Map<string, Uint8Array | null>();

/** Parses a textual IPv4/IPv6 address into its bytes, or null. */
export function parseIp(text: string): Uint8Array | null {
  let ip = parsedIps.get(text);
  if (ip === undefined) {
    ip = parseIpText(text);
    if (parsedIps.size >= 10_000) parsedIps.clear();
    parsedIps.set(text, ip);
  }
  return ip;
}

function parseIpText(text: string): Uint8Array | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const b = v4.slice(1).map(Number);
    return b.every((n) => n <= 255) ? Uint8Array.from(b) : null;
  }
  if (!text.includes(':')) return null;
  let head = text;
  let tail = '';
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
    if (tail.includes('::')) return null;
  }
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const fill = 8 - hs.length - ts.length;
  if (fill < 0 || (dbl < 0 && fill !== 0)) return null;
  const groups = [...hs, ...Array<string>(dbl >= 0 ? fill : 0).fill('0'), ...ts];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[i])) return null;
    const n = parseInt(groups[i], 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  return out;
}

/** Canonical text of a value, used for cache signatures and labels. */
export function valueText(v: AttributeValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return formatIp(v);
  const keys = Object.keys(v).sort();
  return keys.map((k) => `${k}=${v[k]}`).join('&');
}
