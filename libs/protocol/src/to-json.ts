import type { FieldError } from '@tsmesh/core';
import * as protobuf from 'protobufjs';
import { unpackAny } from './codec';
import { protocolErrors } from './errors';
import type { ProtoObject } from './from-json';
import { camelCase, isPlainObject, joinPath, JSON_TYPES, nameOf, WKT, WRAPPERS } from './reflect';
import { findType, lookupType } from './root';
import { formatDuration, formatTimestamp, type ProtoDuration } from './well-known';

export interface ToJsonOptions {
  /** lowerCamelCase keys (canonical proto3 JSON); default snake_case, as Envoy's /config_dump prints. */
  camelCase?: boolean;
}

/**
 * Object form -> proto3 JSON: durations as "1.5s", wrappers as bare values, Any with "@type",
 * enums by name, int64 as strings, bytes as base64; unset fields and empty lists/maps omitted.
 */
export function toJson(typeName: string, obj: object, options: ToJsonOptions = {}): unknown {
  const type = lookupType(typeName);
  const errors: FieldError[] = [];
  const out = jsonMessage(type, obj, '', options, errors);
  if (errors.length > 0) throw protocolErrors.error('PROTOCOL_ERR_INVALID_MESSAGE', { type: nameOf(type) }, errors);
  return out;
}

function jsonMessage(type: protobuf.Type, obj: unknown, path: string, o: ToJsonOptions, errors: FieldError[]): unknown {
  const name = nameOf(type);
  const wrapped = WRAPPERS[name];
  if (wrapped) return jsonScalar(wrapped, isPlainObject(obj) ? obj['value'] : obj);
  switch (name) {
    case WKT.ANY:
      return jsonAny(obj, path, o, errors);
    case WKT.DURATION:
      return formatDuration(obj as ProtoDuration);
    case WKT.TIMESTAMP:
      return formatTimestamp(obj as ProtoDuration);
    case WKT.FIELD_MASK: {
      const paths = isPlainObject(obj) && Array.isArray(obj['paths']) ? (obj['paths'] as string[]) : [];
      return paths.map((p) => (o.camelCase ? camelCase(p) : p)).join(',');
    }
    case WKT.STRUCT:
    case WKT.VALUE:
    case WKT.LIST_VALUE:
      return obj;
  }
  if (!isPlainObject(obj)) {
    errors.push({ path, message: `expected an object (${name})` });
    return undefined;
  }
  const out: Record<string, unknown> = {};
  // An unpacked resource ({ '@type', ...fields }) prints with its "@type" first, as in /config_dump.
  if (typeof obj['@type'] === 'string') out['@type'] = obj['@type'];
  for (const [key, v] of Object.entries(obj)) {
    if (key === '@type') continue;
    const field = Object.prototype.hasOwnProperty.call(type.fields, key) ? type.fields[key] : undefined;
    if (!field) {
      errors.push({ path: joinPath(path, key), message: 'unknown field' });
      continue;
    }
    if (v === undefined || (v === null && !isValueType(field))) continue;
    const p = joinPath(path, key);
    const outKey = o.camelCase ? camelCase(key) : key;
    if (field.map) {
      if (!isPlainObject(v) || Object.keys(v).length === 0) continue;
      out[outKey] = Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, jsonSingle(field, x, `${p}[${k}]`, o, errors)]),
      );
    } else if (field.repeated) {
      if (!Array.isArray(v) || v.length === 0) continue;
      out[outKey] = v.map((x, i) => jsonSingle(field, x, `${p}[${i}]`, o, errors));
    } else {
      out[outKey] = jsonSingle(field, v, p, o, errors);
    }
  }
  return out;
}

function isValueType(field: protobuf.Field): boolean {
  return field.resolvedType instanceof protobuf.Type && nameOf(field.resolvedType) === WKT.VALUE;
}

function jsonSingle(field: protobuf.Field, v: unknown, p: string, o: ToJsonOptions, errors: FieldError[]): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return jsonMessage(rt, v, p, o, errors);
  if (rt instanceof protobuf.Enum) return typeof v === 'number' ? (rt.valuesById[v] ?? v) : v;
  return jsonScalar(field.type, v);
}

const LONG_KINDS = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function jsonScalar(kind: string, v: unknown): unknown {
  if (LONG_KINDS.has(kind)) return String(v);
  if (kind === 'bytes') return Buffer.isBuffer(v) || v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v;
  if ((kind === 'double' || kind === 'float') && typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

function jsonAny(obj: unknown, path: string, o: ToJsonOptions, errors: FieldError[]): unknown {
  if (!isPlainObject(obj)) return undefined;
  const expanded = '@type' in obj ? obj : (unpackAny(obj as never) as ProtoObject);
  const url = String(expanded['@type']);
  const inner = findType(url);
  if (!inner) {
    errors.push({ path: joinPath(path, '@type'), message: `unknown type ${url}` });
    return undefined;
  }
  const rest: Record<string, unknown> = { ...expanded };
  delete rest['@type'];
  const innerName = nameOf(inner);
  if (JSON_TYPES.has(innerName)) return { '@type': url, value: rest['value'] };
  const body = jsonMessage(inner, rest, path, o, errors);
  if (
    WRAPPERS[innerName] ||
    innerName === WKT.DURATION ||
    innerName === WKT.TIMESTAMP ||
    innerName === WKT.FIELD_MASK
  ) {
    return { '@type': url, value: body };
  }
  return { '@type': url, ...(body as object) };
}
