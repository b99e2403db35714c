import type { FieldError } from '@tsmesh/core';
import * as protobuf from 'protobufjs';
import { joinPath, nameOf, realOneofs, WKT, WRAPPERS } from './reflect';
import { durationToMs, type ProtoDuration } from './well-known';

type Bounds = { gt?: number; gte?: number; lt?: number; lte?: number };

/** The protoc-gen-validate rules tsmesh enforces for one field (a subset of what Envoy checks). */
interface FieldRules {
  required?: boolean;
  minLen?: number;
  maxLen?: number;
  minItems?: number;
  minPairs?: number;
  ignoreEmpty?: boolean;
  bounds?: Bounds;
  durationBounds?: Bounds;
  constBool?: boolean;
}

const rulesCache = new WeakMap<protobuf.Field, FieldRules | null>();
const NUMERIC_KINDS = [
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'fixed32',
  'fixed64',
  'sfixed32',
  'sfixed64',
  'double',
  'float',
];

function rulesOf(field: protobuf.Field): FieldRules | null {
  const hit = rulesCache.get(field);
  if (hit !== undefined) return hit;
  const r: FieldRules = {};
  let any = false;
  for (const [key, value] of Object.entries(field.options ?? {})) {
    if (!key.startsWith('(validate.rules).')) continue;
    const parts = key.slice('(validate.rules).'.length).split('.');
    const [kind, rule, sub] = parts;
    if (parts.length > 3 || (kind === 'repeated' && rule === 'items')) continue;
    any = true;
    if (rule === 'required' && value === true) r.required = true;
    else if ((kind === 'string' || kind === 'bytes') && (rule === 'min_len' || rule === 'min_bytes'))
      r.minLen = Number(value);
    else if ((kind === 'string' || kind === 'bytes') && (rule === 'max_len' || rule === 'max_bytes'))
      r.maxLen = Number(value);
    else if (rule === 'ignore_empty' && value === true) r.ignoreEmpty = true;
    else if (kind === 'repeated' && rule === 'min_items') r.minItems = Number(value);
    else if (kind === 'map' && rule === 'min_pairs') r.minPairs = Number(value);
    else if (kind === 'bool' && rule === 'const') r.constBool = Boolean(value);
    else if (NUMERIC_KINDS.includes(kind) && isBound(rule)) (r.bounds ??= {})[rule] = Number(value);
    else if (kind === 'duration' && isBound(rule)) {
      const b = (r.durationBounds ??= {});
      const prev = b[rule] ?? 0;
      if (sub === 'seconds') b[rule] = prev + Number(value) * 1000;
      else if (sub === 'nanos') b[rule] = prev + Number(value) / 1e6;
      else b[rule] = durationToMs(value as ProtoDuration, 0);
    }
  }
  const out = any ? r : null;
  rulesCache.set(field, out);
  return out;
}

function isBound(rule: string): rule is keyof Bounds {
  return rule === 'gt' || rule === 'gte' || rule === 'lt' || rule === 'lte';
}

function boundError(v: number, b: Bounds, fmt: (n: number) => string): string | undefined {
  if (b.gt !== undefined && !(v > b.gt)) return `must be greater than ${fmt(b.gt)}`;
  if (b.gte !== undefined && !(v >= b.gte)) return `must be at least ${fmt(b.gte)}`;
  if (b.lt !== undefined && !(v < b.lt)) return `must be less than ${fmt(b.lt)}`;
  if (b.lte !== undefined && !(v <= b.lte)) return `must be at most ${fmt(b.lte)}`;
  return undefined;
}

const fmtMs = (ms: number) => `${ms / 1000}s`;

/**
 * Checks one message in object form (not recursive): oneof exclusivity, `(validate.required)`
 * oneofs and the PGV field rules Envoy enforces (required, min_len, min_items, numeric and
 * duration bounds). As in PGV, fields outside oneofs are checked even when absent (proto3 default).
 */
export function checkMessageRules(
  type: protobuf.Type,
  msg: Record<string, unknown>,
  path: string,
  errors: FieldError[],
  skip?: ReadonlySet<string>,
): void {
  for (const oneof of realOneofs(type)) {
    const set = oneof.fieldsArray.filter((f) => msg[f.name] !== undefined && msg[f.name] !== null);
    if (set.length > 1) {
      errors.push({
        path: joinPath(path, set[1].name),
        message: `only one of ${oneof.fieldsArray.map((f) => f.name).join(', ')} may be set (${set[0].name} is set too)`,
      });
    } else if (set.length === 0 && oneof.options?.['(validate.required)'] === true) {
      errors.push({
        path: joinPath(path, oneof.name),
        message: `one of ${oneof.fieldsArray.map((f) => f.name).join(', ')} is required`,
      });
    }
  }
  for (const field of type.fieldsArray) {
    const rules = rulesOf(field);
    if (!rules || skip?.has(field.name)) continue;
    const value = msg[field.name];
    const present = value !== undefined && value !== null;
    if (!present && field.partOf) continue; // oneof members are only checked when set
    const p = joinPath(path, field.name);
    const problem = checkField(field, rules, value, present);
    if (problem) errors.push({ path: p, message: problem });
  }
}

function checkField(field: protobuf.Field, r: FieldRules, value: unknown, present: boolean): string | undefined {
  const rt = field.resolvedType;
  if (field.map) {
    const n = present ? Object.keys(value as object).length : 0;
    if (r.minPairs !== undefined && n < r.minPairs) return `must have at least ${r.minPairs} entries`;
    return undefined;
  }
  if (field.repeated) {
    const n = present ? (value as unknown[]).length : 0;
    if (r.ignoreEmpty && n === 0) return undefined;
    if (r.minItems !== undefined && n < r.minItems)
      return n === 0 ? 'is required (must not be empty)' : `must have at least ${r.minItems} items`;
    return undefined;
  }
  if (rt instanceof protobuf.Type) {
    if (!present) return r.required ? 'is required' : undefined;
    const name = nameOf(rt);
    if (name === WKT.DURATION && r.durationBounds) {
      return boundError(durationToMs(value as ProtoDuration, 0), r.durationBounds, fmtMs);
    }
    const wrapped = WRAPPERS[name];
    const inner = (value as { value?: unknown }).value;
    if (wrapped && r.bounds && typeof inner === 'number') return boundError(inner, r.bounds, String);
    if (wrapped && typeof inner === 'string') return stringRules(inner, r);
    return undefined;
  }
  if (rt instanceof protobuf.Enum) return undefined;
  if (field.type === 'string' || field.type === 'bytes') {
    const s = present ? (value as string | Buffer) : '';
    return stringRules(s, r);
  }
  if (field.type === 'bool') {
    if (r.constBool !== undefined && present && value !== r.constBool) return `must be ${r.constBool}`;
    return undefined;
  }
  if (r.bounds) return boundError(present ? Number(value) : 0, r.bounds, String);
  return undefined;
}

function stringRules(s: string | Buffer, r: FieldRules): string | undefined {
  const len = typeof s === 'string' ? [...s].length : s.length;
  if (r.ignoreEmpty && len === 0) return undefined;
  if (r.minLen !== undefined && len < r.minLen)
    return len === 0 ? 'is required (must not be empty)' : `must be at least ${r.minLen} characters`;
  if (r.maxLen !== undefined && len > r.maxLen) return `must be at most ${r.maxLen} characters`;
  return undefined;
}
