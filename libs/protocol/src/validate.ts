import type { FieldError } from '@tsmesh/core';
import * as protobuf from 'protobufjs';
import { isPlainObject, joinPath, JSON_TYPES, nameOf, WKT, WRAPPERS } from './reflect';
import { findType, lookupType } from './root';
import { checkMessageRules } from './rules';

/**
 * Checks an object-form message (for example one just decoded from an xDS response) against
 * the oneof and protoc-gen-validate rules fromJson applies, recursively through expanded Any
 * fields. Returns every problem with its field path (empty when valid); the proxy joins them
 * into a NACK's error_detail.
 */
export function validateMessage(typeName: string, obj: object, path = ''): FieldError[] {
  const errors: FieldError[] = [];
  walk(lookupType(typeName), obj, path, errors);
  return errors;
}

function walk(type: protobuf.Type, obj: unknown, path: string, errors: FieldError[]): void {
  const name = nameOf(type);
  if (JSON_TYPES.has(name) || WRAPPERS[name] || name === WKT.DURATION || name === WKT.TIMESTAMP) return;
  if (!isPlainObject(obj)) return;
  if (name === WKT.ANY) {
    const url = obj['@type'];
    if (typeof url !== 'string') return;
    const inner = findType(url);
    if (!inner) errors.push({ path: joinPath(path, '@type'), message: `unknown type ${url}` });
    else walk(inner, obj, path, errors);
    return;
  }
  checkMessageRules(type, obj, path, errors);
  for (const field of type.fieldsArray) {
    const rt = field.resolvedType;
    const v = obj[field.name];
    if (!(rt instanceof protobuf.Type) || v === undefined || v === null) continue;
    const p = joinPath(path, field.name);
    if (field.map && isPlainObject(v)) for (const [k, x] of Object.entries(v)) walk(rt, x, `${p}[${k}]`, errors);
    else if (field.repeated && Array.isArray(v)) v.forEach((x, i) => walk(rt, x, `${p}[${i}]`, errors));
    else walk(rt, v, p, errors);
  }
}
