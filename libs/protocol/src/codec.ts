import * as protobuf from 'protobufjs';
import { protocolErrors } from './errors';
import type { ProtoObject } from './from-json';
import { camelCase, fieldIndex, isPlainObject, setKey, specialFields, JSON_TYPES, nameOf, WKT } from './reflect';
import { findType, lookupType } from './root';

/** protobufjs toObject options that define the object form (docs/protocol.md). */
export const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  bytes: Buffer as unknown as protobuf.IConversionOptions['bytes'],
  defaults: false,
  arrays: true,
  oneofs: false,
};

/** Wire form of google.protobuf.Any, as in DiscoveryResponse.resources. */
export interface WireAny {
  type_url: string;
  value: Buffer | Uint8Array;
}

/** A field path kept as a linked list while walking, rendered only for an error. */
type Path = { readonly up: Path; readonly key: string } | null;

function at(up: Path, key: string): Path {
  return { up, key };
}

function render(path: Path, last?: string): string {
  const keys: string[] = last === undefined ? [] : [last];
  for (let p = path; p; p = p.up) keys.push(p.key);
  return keys.reverse().join('.');
}

function invalid(type: string, path: string, message: string, cause?: unknown) {
  return protocolErrors.error('PROTOCOL_ERR_INVALID_MESSAGE', { type }, [{ path, message }], cause);
}

/** Serializes an object-form message (Any fields expanded with "@type") to protobuf bytes. */
export function encode(typeName: string, obj: object): Buffer {
  return encodeType(lookupType(typeName), obj as ProtoObject, null);
}

function encodeType(type: protobuf.Type, obj: unknown, path: Path): Buffer {
  const plain = toPb(type, obj, path);
  let message: protobuf.Message;
  try {
    message = type.fromObject(plain as Record<string, unknown>);
  } catch (e) {
    throw invalid(nameOf(type), render(path), (e as Error).message.replace(/^\.?[\w.]+: /, ''), e);
  }
  const bytes = type.encode(message).finish();
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Object form -> what protobufjs fromObject takes: Any packed, Struct/Value as their messages. */
function toPb(type: protobuf.Type, obj: unknown, path: Path): unknown {
  const name = nameOf(type);
  if (name === WKT.ANY) return packAnyAt(obj, path);
  if (name === WKT.STRUCT) return structToPb(obj);
  if (name === WKT.VALUE) return valueToPb(obj);
  if (name === WKT.LIST_VALUE) return { values: (Array.isArray(obj) ? obj : []).map(valueToPb) };
  if (!isPlainObject(obj)) return obj;
  let out: Record<string, unknown> | undefined;
  for (const field of specialFields(type)) {
    const rt = field.resolvedType as protobuf.Type;
    const v = obj[field.name];
    if (v === undefined || v === null) continue;
    let converted: unknown;
    if (field.map && isPlainObject(v)) {
      let changed = false;
      const entries = Object.entries(v).map(([k, x]) => {
        const c = toPb(rt, x, at(path, `${field.name}[${k}]`));
        changed ||= c !== x;
        return [k, c];
      });
      converted = changed ? Object.fromEntries(entries) : v;
    } else if (field.repeated && Array.isArray(v)) {
      let changed = false;
      const items = v.map((x, i) => {
        const c = toPb(rt, x, at(path, `${field.name}[${i}]`));
        changed ||= c !== x;
        return c;
      });
      converted = changed ? items : v;
    } else {
      converted = toPb(rt, v, at(path, field.name));
    }
    if (converted !== v) {
      out ??= { ...obj };
      out[field.name] = converted;
    }
  }
  return out ?? obj;
}

function packAnyAt(obj: unknown, path: Path): unknown {
  if (!isPlainObject(obj)) return obj;
  if (!('@type' in obj)) return obj; // already { type_url, value }
  const url = obj['@type'];
  const inner = typeof url === 'string' ? findType(url) : undefined;
  if (!inner || typeof url !== 'string') throw invalid(WKT.ANY, render(path, '@type'), `unknown type ${String(url)}`);
  // fromObject ignores the "@type" key, so the expanded object is encoded as is.
  const payload = JSON_TYPES.has(nameOf(inner)) ? obj['value'] : obj;
  return { type_url: url, value: encodeType(inner, payload, path) };
}

function structToPb(obj: unknown): unknown {
  const fields: Record<string, unknown> = {};
  if (isPlainObject(obj)) for (const [k, v] of Object.entries(obj)) setKey(fields, k, valueToPb(v));
  return { fields };
}

let valueNames: Record<string, string> | undefined;

/**
 * Real field names of google.protobuf.Value: protobufjs ships the well-known types pre-parsed
 * with camelCase names (nullValue, ...), whatever keepCase says.
 */
function vn(): Record<string, string> {
  if (!valueNames) {
    const index = fieldIndex(lookupType(WKT.VALUE));
    valueNames = {};
    for (const n of ['null_value', 'number_value', 'string_value', 'bool_value', 'struct_value', 'list_value']) {
      valueNames[n] = (index.get(n) ?? index.get(camelCase(n)))?.name ?? n;
    }
  }
  return valueNames;
}

function valueToPb(v: unknown): unknown {
  const n = vn();
  if (v === null || v === undefined) return { [n['null_value']]: 'NULL_VALUE' };
  if (typeof v === 'number') return { [n['number_value']]: v };
  if (typeof v === 'string') return { [n['string_value']]: v };
  if (typeof v === 'boolean') return { [n['bool_value']]: v };
  if (Array.isArray(v)) return { [n['list_value']]: { values: v.map(valueToPb) } };
  return { [n['struct_value']]: structToPb(v) };
}

/** Parses protobuf bytes into the object form (Any fields expanded). */
export function decode<T = ProtoObject>(typeName: string, buf: Buffer | Uint8Array): T {
  return decodeType(lookupType(typeName), buf, null) as T;
}

function decodeType(type: protobuf.Type, buf: Buffer | Uint8Array, path: Path): unknown {
  let message: protobuf.Message;
  try {
    message = type.decode(Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  } catch (e) {
    throw protocolErrors.error(
      'PROTOCOL_ERR_DECODE',
      { type: nameOf(type), reason: (e as Error).message },
      path ? [{ path: render(path), message: (e as Error).message }] : [],
      e,
    );
  }
  let obj: unknown;
  try {
    obj = type.toObject(message, TO_OBJECT_OPTIONS);
  } catch (e) {
    throw protocolErrors.error('PROTOCOL_ERR_DECODE', { type: nameOf(type), reason: (e as Error).message }, [], e);
  }
  return fromPb(type, obj, path);
}

/** protobufjs toObject output -> object form: Any expanded, Struct/Value/ListValue as plain JSON. */
function fromPb(type: protobuf.Type, obj: unknown, path: Path): unknown {
  const name = nameOf(type);
  if (name === WKT.ANY) return unpackAt(obj as WireAny, path);
  if (name === WKT.STRUCT) return structFromPb(obj);
  if (name === WKT.VALUE) return valueFromPb(obj);
  if (name === WKT.LIST_VALUE) return listFromPb(obj);
  if (!isPlainObject(obj)) return obj;
  for (const field of specialFields(type)) {
    const rt = field.resolvedType as protobuf.Type;
    const v = obj[field.name];
    if (v === undefined || v === null) continue;
    if (field.map && isPlainObject(v)) {
      for (const k of Object.keys(v)) v[k] = fromPb(rt, v[k], at(path, `${field.name}[${k}]`));
    } else if (field.repeated && Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = fromPb(rt, v[i], at(path, `${field.name}[${i}]`));
    } else {
      obj[field.name] = fromPb(rt, v, at(path, field.name));
    }
  }
  return obj;
}

function unpackAt(any: WireAny, path: Path): ProtoObject {
  const url = any.type_url ?? '';
  const inner = findType(url);
  if (!inner) throw invalid(WKT.ANY, render(path, '@type'), `unknown type ${url}`);
  const value = decodeType(inner, any.value ?? Buffer.alloc(0), path);
  if (JSON_TYPES.has(nameOf(inner))) return { '@type': url, value };
  const obj = value as ProtoObject;
  obj['@type'] = url;
  return obj;
}

function structFromPb(obj: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = isPlainObject(obj) && isPlainObject(obj['fields']) ? obj['fields'] : {};
  for (const [k, v] of Object.entries(fields)) setKey(out, k, valueFromPb(v));
  return out;
}

function listFromPb(obj: unknown): unknown[] {
  const values = isPlainObject(obj) && Array.isArray(obj['values']) ? obj['values'] : [];
  return values.map(valueFromPb);
}

function valueFromPb(v: unknown): unknown {
  if (!isPlainObject(v)) return null;
  const n = vn();
  if (n['number_value'] in v) return v[n['number_value']];
  if (n['string_value'] in v) return v[n['string_value']];
  if (n['bool_value'] in v) return v[n['bool_value']];
  if (n['struct_value'] in v) return structFromPb(v[n['struct_value']]);
  if (n['list_value'] in v) return listFromPb(v[n['list_value']]);
  return null;
}

/** Packs an object-form message into the wire Any (`{ type_url, value }`) of DiscoveryResponse.resources. */
export function packAny(typeUrl: string, obj: object): { type_url: string; value: Buffer } {
  const type = findType(typeUrl);
  if (!type) throw invalid(WKT.ANY, '@type', `unknown type ${typeUrl}`);
  const payload = JSON_TYPES.has(nameOf(type)) ? (obj as ProtoObject)['value'] : obj;
  return { type_url: typeUrl, value: encodeType(type, payload, null) };
}

/** Unpacks a wire Any into the object form `{ '@type': typeUrl, ...fields }`; expanded input is returned as is. */
export function unpackAny<T = ProtoObject>(any: WireAny | ProtoObject): T & { '@type': string } {
  if (isPlainObject(any) && typeof any['@type'] === 'string') return any as T & { '@type': string };
  return unpackAt(any as WireAny, null) as T & { '@type': string };
}
