/**
 * Check responses on the wire. `encodeCheckResponse` writes the
 * istio.mixer.v1.CheckResponse bytes straight from the runtime's outcome (field
 * numbers from istio/api `mixer/v1/check.proto`); `toCheckResponse` is the same
 * response in proto-loader's object form, the reference the direct encoder is
 * tested against.
 */
import { ProtoWriter, VARINT, WordTable, type Reference } from '@tsmesh/attributes';
import { toProtoDuration } from '@tsmesh/core';
import type { CheckOutcome } from '../runtime/runtime';

export interface WireReferencedAttributes {
  words: string[];
  attribute_matches: Array<{ name: number; condition: 'ABSENCE' | 'EXACT' | 'REGEX'; regex: string; map_key: number }>;
}

/** ReferencedAttributes: names (and map keys) as dictionary indexes; map_key 0 means "no key", as the proxy reads it. */
export function toReferenced(refs: readonly Reference[]): WireReferencedAttributes {
  const words = new WordTable();
  const attribute_matches = refs.map((r) => ({
    name: words.index(r.name),
    condition: r.condition,
    regex: '',
    map_key: r.mapKey === undefined ? 0 : words.index(r.mapKey),
  }));
  return { words: words.words, attribute_matches };
}

export function toCheckResponse(out: CheckOutcome): Record<string, unknown> {
  const quotas: Record<string, unknown> = {};
  for (const [name, q] of out.quotas) {
    quotas[name] = {
      valid_duration: toProtoDuration(q.validDurationMs),
      granted_amount: q.amount,
      referenced_attributes: toReferenced(q.references),
    };
  }
  return {
    precondition: {
      status: { code: out.status.code, message: out.status.message, details: [] },
      valid_duration: toProtoDuration(out.validDurationMs),
      valid_use_count: out.validUseCount,
      referenced_attributes: toReferenced(out.references),
    },
    quotas,
  };
}

const CONDITION = { ABSENCE: 1, EXACT: 2 } as const;

/** google.protobuf.Duration from milliseconds. */
function duration(w: ProtoWriter, field: number, ms: number): void {
  const { seconds, nanos } = toProtoDuration(ms);
  w.secondsNanos(field, seconds, nanos);
}

/** ReferencedAttributes: words = 1, attribute_matches = 2 {name = 1, condition = 2, regex = 3, map_key = 4}. */
function referenced(w: ProtoWriter, field: number, refs: readonly Reference[]): void {
  const words = new WordTable();
  const names = new Array<number>(refs.length);
  const keys = new Array<number>(refs.length);
  for (let i = 0; i < refs.length; i++) {
    names[i] = words.index(refs[i].name);
    const k = refs[i].mapKey;
    keys[i] = k === undefined ? 0 : words.index(k);
  }
  const mark = w.begin(field);
  for (const word of words.words) {
    w.tag(1, 2);
    w.string(word);
  }
  for (let i = 0; i < refs.length; i++) {
    const m = w.begin(2);
    if (names[i] !== 0) {
      w.tag(1, VARINT);
      w.sint32(names[i]);
    }
    w.tag(2, VARINT);
    w.varint(CONDITION[refs[i].condition]);
    if (keys[i] !== 0) {
      w.tag(4, VARINT);
      w.sint32(keys[i]);
    }
    w.end(m);
  }
  w.end(mark);
}

/** CheckResponse: precondition = 2 {status = 1, valid_duration = 2, valid_use_count = 3, referenced_attributes = 5}, quotas = 3. */
export function encodeCheckResponse(out: CheckOutcome): Buffer {
  const w = new ProtoWriter(256);
  const pre = w.begin(2);
  const status = w.begin(1);
  if (out.status.code !== 0) {
    w.tag(1, VARINT);
    w.int64(out.status.code);
  }
  if (out.status.message) {
    w.tag(2, 2);
    w.string(out.status.message);
  }
  w.end(status);
  duration(w, 2, out.validDurationMs);
  if (out.validUseCount !== 0) {
    w.tag(3, VARINT);
    w.int64(out.validUseCount);
  }
  referenced(w, 5, out.references);
  w.end(pre);
  // quotas: map<string, QuotaResult {valid_duration = 1, granted_amount = 2, referenced_attributes = 5}>
  for (const [name, q] of out.quotas) {
    const entry = w.begin(3);
    w.tag(1, 2);
    w.string(name);
    const value = w.begin(2);
    duration(w, 1, q.validDurationMs);
    if (q.amount !== 0) {
      w.tag(2, VARINT);
      w.int64(q.amount);
    }
    referenced(w, 5, q.references);
    w.end(value);
    w.end(entry);
  }
  return w.finish();
}
