import { isMeshError, type FieldError } from '@tsmesh/core';
import * as protobuf from 'protobufjs';
import { protocolErrors } from './errors';
import {
  describe,
  fieldIndex,
  unknownFieldMessage,
  isPlainObject,
  joinPath,
  setKey,
  JSON_TYPES,
  nameOf,
  WKT,
  WRAPPERS,
} from './reflect';
import { findType, lookupType } from './root';
import { checkMessageRules } from './rules';
import { parseDurationText, parseTimestampText } from './well-known';
import { typeUrlOf } from './type-urls';
import { withLines, yaml } from './yaml-lines';

/** A message in tsmesh's object form (see docs/protocol.md). */
export type ProtoObject = Record<string, unknown>;

/**
 * Converts a message written in Envoy's proto3-JSON/YAML form (camelCase or snake_case keys,
 * durations as "1s", wrappers as bare values, Any with "@type", enum names) to the object form,
 * validating as it goes. Throws PROTOCOL_ERR_INVALID_MESSAGE listing every field error, each
 * with its path (`filter_chains[0].filters[0].typed_config.stat_prefix`), prefixed by `path`.
 */
export function fromJson<T = ProtoObject>(typeName: string, value: unknown, path = ''): T {
  const type = lookupType(typeName);
  const errors: FieldError[] = [];
  const out = convertMessage(type, value, path, errors);
  if (errors.length > 0 || out === undefined) {
    if (errors.length === 0) errors.push({ path, message: `expected an object, got ${describe(value)}` });
    throw protocolErrors.error('PROTOCOL_ERR_INVALID_MESSAGE', { type: nameOf(type) }, errors);
  }
  return out as T;
}

/**
 * Every problem fromJson would report for `value`, without throwing. The object form is valid
 * input too, so this also checks messages built in code or just decoded (see validateMessage).
 */
export function collectErrors(typeName: string, value: unknown, path = ''): FieldError[] {
  const errors: FieldError[] = [];
  const out = convertMessage(lookupType(typeName), value, path, errors);
  if (out === undefined && errors.length === 0)
    errors.push({ path, message: `expected an object, got ${describe(value)}` });
  return errors;
}

/**
 * Parses YAML text (as in Envoy's docs) and converts it with fromJson; field errors say which
 * line they point at ("unknown field (line 12)").
 */
export function fromYaml<T = ProtoObject>(typeName: string, yamlText: string): T {
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lines });
  if (doc.errors.length > 0) {
    const reason = doc.errors[0].message.split('\n')[0];
    throw protocolErrors.error('PROTOCOL_ERR_INVALID_YAML', { type: typeName, reason }, [], doc.errors[0]);
  }
  try {
    return fromJson<T>(typeName, doc.toJS());
  } catch (e) {
    if (!isMeshError(e) || e.code !== 'PROTOCOL_ERR_INVALID_MESSAGE') throw e;
    throw protocolErrors.error('PROTOCOL_ERR_INVALID_MESSAGE', e.params, withLines(doc, lines, e.fieldErrors), e);
  }
}

function convertMessageAt(
  type: protobuf.Type,
  value: unknown,
  path: string,
  errors: FieldError[],
): ProtoObject | undefined {
  const name = nameOf(type);
  const special = convertWellKnown(type, name, value, path, errors);
  if (special !== NOT_SPECIAL) return special as ProtoObject | undefined;
  if (!isPlainObject(value)) {
    errors.push({ path, message: `expected an object (${name}), got ${describe(value)}` });
    return undefined;
  }
  const index = fieldIndex(type);
  const out: ProtoObject = {};
  const failed = new Set<string>();
  for (const [key, v] of Object.entries(value)) {
    if (key === '@type') {
      // An unpacked resource keeps its "@type"; it must name this message type.
      if (typeof v !== 'string' || findType(v) !== type) {
        errors.push({
          path: joinPath(path, key),
          message: `expected ${typeUrlOf(name)}, got ${typeof v === 'string' ? JSON.stringify(v) : describe(v)}`,
        });
      }
      continue;
    }
    const field = index.get(key);
    if (!field) {
      errors.push({ path: joinPath(path, key), message: unknownFieldMessage(type, key) });
      continue;
    }
    const p = joinPath(path, field.name);
    if (Object.hasOwn(out, field.name)) {
      errors.push({ path: p, message: 'set twice (as snake_case and camelCase)' });
      continue;
    }
    if (v === null || v === undefined) {
      if (field.resolvedType instanceof protobuf.Type && nameOf(field.resolvedType) === WKT.VALUE && !field.repeated) {
        out[field.name] = null;
      }
      continue; // proto3 JSON: null means "not set"
    }
    const before = errors.length;
    const converted = convertField(field, v, p, errors);
    if (converted !== undefined) out[field.name] = converted;
    if (errors.length > before) failed.add(field.name);
  }
  for (const f of type.fieldsArray) if (f.repeated && !Object.hasOwn(out, f.name)) out[f.name] = [];
  checkMessageRules(type, out, path, errors, failed);
  return out;
}

function convertField(field: protobuf.Field, v: unknown, p: string, errors: FieldError[]): unknown {
  if (field.map) {
    if (!isPlainObject(v)) {
      errors.push({ path: p, message: `expected an object (map), got ${describe(v)}` });
      return undefined;
    }
    const keyType = (field as unknown as protobuf.MapField).keyType;
    const out: Record<string, unknown> = {};
    for (const [k, vv] of Object.entries(v)) {
      const kp = `${p}[${k}]`;
      if (keyType !== 'string' && keyType !== 'bool' && !/^-?\d+$/.test(k)) {
        errors.push({ path: kp, message: `map key must be an integer (${keyType})` });
        continue;
      }
      if (keyType === 'bool' && k !== 'true' && k !== 'false') {
        errors.push({ path: kp, message: 'map key must be true or false' });
        continue;
      }
      const cv = convertSingle(field, vv, kp, errors);
      if (cv !== undefined) setKey(out, k, cv);
    }
    // Like decode (toObject without `objects`), an empty map is left out.
    return Object.keys(out).length > 0 ? out : undefined;
  }
  if (field.repeated) {
    if (!Array.isArray(v)) {
      errors.push({ path: p, message: `expected a list, got ${describe(v)}` });
      return undefined;
    }
    const out: unknown[] = [];
    v.forEach((item, i) => {
      const cv = item === null ? nullItem(`${p}[${i}]`, errors) : convertSingle(field, item, `${p}[${i}]`, errors);
      if (cv !== undefined) out.push(cv);
    });
    return out;
  }
  return convertSingle(field, v, p, errors);
}

function nullItem(p: string, errors: FieldError[]): undefined {
  errors.push({ path: p, message: 'list items must not be null' });
  return undefined;
}

function convertSingle(field: protobuf.Field, v: unknown, p: string, errors: FieldError[]): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return convertMessage(rt, v, p, errors);
  if (rt instanceof protobuf.Enum) return convertEnum(rt, v, p, errors);
  return convertScalar(field.type, v, p, errors);
}

function convertEnum(e: protobuf.Enum, v: unknown, p: string, errors: FieldError[]): string | undefined {
  if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(e.values, v)) return v;
  if (typeof v === 'number' && Number.isInteger(v) && e.valuesById[v] !== undefined) return e.valuesById[v];
  const names = Object.keys(e.values);
  const list = names.length > 12 ? `${names.slice(0, 12).join(', ')}, ...` : names.join(', ');
  errors.push({ path: p, message: `unknown value ${describe(v)} for enum ${e.name}; expected one of ${list}` });
  return undefined;
}

const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);
const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** proto3-JSON scalar -> object form (int64 as Number, bytes as Buffer). */
export function convertScalar(kind: string, v: unknown, p: string, errors: FieldError[]): unknown {
  const fail = (expected: string) => {
    errors.push({ path: p, message: `expected ${expected}, got ${describe(v)}` });
    return undefined;
  };
  switch (kind) {
    case 'string':
      return typeof v === 'string' ? v : fail('a string');
    case 'bool':
      return typeof v === 'boolean' ? v : fail('true or false');
    case 'bytes':
      if (Buffer.isBuffer(v)) return v;
      if (v instanceof Uint8Array) return Buffer.from(v);
      if (typeof v === 'string' && BASE64_RE.test(v.replace(/\s/g, ''))) return Buffer.from(v, 'base64');
      return fail('base64 bytes');
    case 'double':
    case 'float': {
      if (typeof v === 'number') return v;
      if (v === 'NaN') return NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
      return fail('a number');
    }
    default: {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
      if (!Number.isInteger(n)) return fail(`an integer (${kind})`);
      if (INT32.has(kind) && (n < -2147483648 || n > 2147483647)) return fail(`a 32-bit integer (${kind})`);
      if (UINT32.has(kind) && (n < 0 || n > 4294967295)) return fail(`an unsigned 32-bit integer (${kind})`);
      if (UINT64.has(kind) && n < 0) return fail(`an unsigned integer (${kind})`);
      if (!INT32.has(kind) && !UINT32.has(kind) && !INT64.has(kind) && !UINT64.has(kind)) return fail(kind);
      return n;
    }
  }
}

const NOT_SPECIAL = Symbol('not special');

/** Nesting limit for messages and JSON values, like protobuf's default recursion limit. */
export const MAX_DEPTH = 100;
let depth = 0;

function nested<A extends unknown[], R>(
  fn: (...args: A) => R,
  path: (...args: A) => string,
  errors: (...args: A) => FieldError[],
) {
  return (...args: A): R | undefined => {
    if (depth >= MAX_DEPTH) {
      errors(...args).push({ path: path(...args), message: `nested more than ${MAX_DEPTH} levels deep` });
      return undefined;
    }
    depth++;
    try {
      return fn(...args);
    } finally {
      depth--;
    }
  };
}

const convertMessage = nested(
  (type: protobuf.Type, value: unknown, path: string, errors: FieldError[]) =>
    convertMessageAt(type, value, path, errors),
  (_t, _v, path) => path,
  (_t, _v, _p, errors) => errors,
);

const copyJson = nested(
  (v: unknown, path: string, errors: FieldError[]) => copyJsonAt(v, path, errors),
  (_v, path) => path,
  (_v, _p, errors) => errors,
);

function convertWellKnown(
  type: protobuf.Type,
  name: string,
  value: unknown,
  path: string,
  errors: FieldError[],
): unknown {
  const wrapped = WRAPPERS[name];
  if (wrapped) {
    const bare = isPlainObject(value) && Object.keys(value).length === 1 && 'value' in value ? value['value'] : value;
    const v = convertScalar(wrapped, bare, path, errors);
    return v === undefined ? undefined : { value: v };
  }
  switch (name) {
    case WKT.ANY:
      return convertAny(value, path, errors);
    case WKT.DURATION:
      return convertTime(value, path, errors, parseDurationText, 'a duration like "1s" or "0.25s"');
    case WKT.TIMESTAMP:
      return convertTime(value, path, errors, parseTimestampText, 'an RFC 3339 timestamp');
    case WKT.FIELD_MASK:
      if (typeof value === 'string') {
        const paths = value.split(',').filter((s) => s !== '');
        return { paths: paths.map((s) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) };
      }
      return NOT_SPECIAL;
    case WKT.STRUCT:
      if (!isPlainObject(value)) {
        errors.push({ path, message: `expected an object (Struct), got ${describe(value)}` });
        return undefined;
      }
      return copyJson(value, path, errors);
    case WKT.LIST_VALUE:
      if (!Array.isArray(value)) {
        errors.push({ path, message: `expected a list (ListValue), got ${describe(value)}` });
        return undefined;
      }
      return copyJson(value, path, errors);
    case WKT.VALUE:
      return copyJson(value, path, errors);
    default:
      void type;
      return NOT_SPECIAL;
  }
}

function convertTime(
  value: unknown,
  path: string,
  errors: FieldError[],
  parse: (s: string) => { seconds?: number; nanos?: number } | undefined,
  expected: string,
): unknown {
  if (typeof value === 'string') {
    const d = parse(value);
    if (d) return d;
  } else if (isPlainObject(value) && Object.keys(value).every((k) => k === 'seconds' || k === 'nanos')) {
    const seconds = Number(value['seconds'] ?? 0);
    const nanos = Number(value['nanos'] ?? 0);
    if (Number.isInteger(seconds) && Number.isInteger(nanos) && Math.abs(nanos) < 1e9) {
      const out: { seconds?: number; nanos?: number } = {};
      if (seconds !== 0) out.seconds = seconds;
      if (nanos !== 0) out.nanos = nanos;
      return out;
    }
  }
  errors.push({ path, message: `expected ${expected}, got ${describe(value)}` });
  return undefined;
}

function convertAny(value: unknown, path: string, errors: FieldError[]): ProtoObject | undefined {
  const atPath = joinPath(path, '@type');
  if (!isPlainObject(value)) {
    errors.push({ path, message: `expected an object with "@type", got ${describe(value)}` });
    return undefined;
  }
  const url = value['@type'];
  if (typeof url !== 'string' || url === '') {
    errors.push({ path: atPath, message: 'missing "@type"' });
    return undefined;
  }
  if (!url.includes('/')) {
    errors.push({ path: atPath, message: `expected a type URL like type.googleapis.com/${url}, got "${url}"` });
    return undefined;
  }
  const inner = findType(url);
  if (!inner) {
    errors.push({ path: atPath, message: `unknown type ${url}` });
    return undefined;
  }
  const innerName = nameOf(inner);
  const rest: Record<string, unknown> = { ...value };
  delete rest['@type'];
  if (
    JSON_TYPES.has(innerName) ||
    WRAPPERS[innerName] ||
    innerName === WKT.DURATION ||
    innerName === WKT.TIMESTAMP ||
    innerName === WKT.FIELD_MASK
  ) {
    // proto3 JSON puts well-known types with a special form under "value".
    for (const k of Object.keys(rest))
      if (k !== 'value') errors.push({ path: joinPath(path, k), message: 'unknown field' });
    const v = convertMessage(inner, rest['value'], joinPath(path, 'value'), errors);
    if (v === undefined) return undefined;
    return JSON_TYPES.has(innerName) ? { '@type': url, value: v } : { '@type': url, ...v };
  }
  const converted = convertMessage(inner, rest, path, errors);
  return converted === undefined ? undefined : { '@type': url, ...converted };
}

/** Deep copy of JSON data (Struct/Value), rejecting what JSON cannot hold. */
function copyJsonAt(v: unknown, path: string, errors: FieldError[]): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return v;
    errors.push({ path, message: 'numbers in a Struct must be finite' });
    return undefined;
  }
  if (Array.isArray(v)) return v.map((x, i) => copyJson(x, `${path}[${i}]`, errors));
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) setKey(out, k, copyJson(x, joinPath(path, k), errors));
    return out;
  }
  errors.push({ path, message: `expected JSON data, got ${describe(v)}` });
  return undefined;
}
