/**
 * The attribute bag: what a proxy knows about one request or connection,
 * named with Istio's vocabulary. JS forms of the value types:
 * STRING/DNS_NAME/EMAIL_ADDRESS/URI → string, INT64/DOUBLE → number,
 * BOOL → boolean, TIMESTAMP → Date, DURATION → number (milliseconds),
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

export class MutableBag implements Bag {
  private readonly values = new Map<string, AttributeValue>();
  private readonly types = new Map<string, ValueType>();

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
    const m = this.values.get(name);
    if (m === undefined || typeof m !== 'object' || m instanceof Date || m instanceof Uint8Array) return undefined;
    return Object.prototype.hasOwnProperty.call(m, key) ? (m as StringMap)[key] : undefined;
  }
  names(): Iterable<string> {
    return this.values.keys();
  }
  typeOf(name: string): ValueType | undefined {
    return this.types.get(name);
  }
  has(name: string): boolean {
    return this.values.has(name);
  }
  get size(): number {
    return this.values.size;
  }

  set(name: string, value: AttributeValue, type?: ValueType): this {
    this.values.set(name, value);
    if (type) this.types.set(name, type);
    else this.types.delete(name);
    return this;
  }
  delete(name: string): void {
    this.values.delete(name);
    this.types.delete(name);
  }
  clear(): void {
    this.values.clear();
    this.types.clear();
  }
  toRecord(): Record<string, AttributeValue> {
    return Object.fromEntries(this.values);
  }
  /** An independent copy (values are shared: they are never mutated in place). */
  clone(): MutableBag {
    const out = new MutableBag();
    for (const [k, v] of this.values) out.values.set(k, v);
    for (const [k, t] of this.types) out.types.set(k, t);
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

/** Parses a textual IPv4/IPv6 address into its bytes, or null. */
export function parseIp(text: string): Uint8Array | null {
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
