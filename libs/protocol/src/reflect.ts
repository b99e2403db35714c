import * as protobuf from 'protobufjs';

/** Well-known types whose JSON form is special (proto3 JSON mapping). */
export const WKT = {
  ANY: 'google.protobuf.Any',
  DURATION: 'google.protobuf.Duration',
  TIMESTAMP: 'google.protobuf.Timestamp',
  STRUCT: 'google.protobuf.Struct',
  VALUE: 'google.protobuf.Value',
  LIST_VALUE: 'google.protobuf.ListValue',
  FIELD_MASK: 'google.protobuf.FieldMask',
  EMPTY: 'google.protobuf.Empty',
} as const;

/** Wrapper message -> the scalar type of its `value` field. */
export const WRAPPERS: Readonly<Record<string, string>> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

/** Struct, Value and ListValue: plain JSON in the object form. */
export const JSON_TYPES: ReadonlySet<string> = new Set([WKT.STRUCT, WKT.VALUE, WKT.LIST_VALUE]);

export function nameOf(type: protobuf.Type): string {
  return type.fullName.startsWith('.') ? type.fullName.slice(1) : type.fullName;
}

export function camelCase(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

const indexCache = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

/** Field by snake_case name, lowerCamelCase name or explicit json_name. */
export function fieldIndex(type: protobuf.Type): Map<string, protobuf.Field> {
  let index = indexCache.get(type);
  if (!index) {
    index = new Map();
    for (const f of type.fieldsArray) {
      index.set(f.name, f);
      const camel = camelCase(f.name);
      if (!index.has(camel)) index.set(camel, f);
      const jsonName = f.options?.['json_name'];
      if (typeof jsonName === 'string' && !index.has(jsonName)) index.set(jsonName, f);
    }
    indexCache.set(type, index);
  }
  return index;
}

/** Oneofs that are real choices (not the synthetic ones protoc makes for proto3 `optional`). */
export function realOneofs(type: protobuf.Type): protobuf.OneOf[] {
  return type.oneofsArray.filter((o) => !(o.name.startsWith('_') && o.fieldsArray.length === 1));
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Uint8Array);
}

export function joinPath(base: string, key: string): string {
  return base ? `${base}.${key}` : key;
}

/** Short description of a JSON value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return `${typeof v} ${String(v)}`;
}

const specialCache = new WeakMap<protobuf.Type, boolean>();

function isSpecial(type: protobuf.Type): boolean {
  const name = nameOf(type);
  return name === WKT.ANY || JSON_TYPES.has(name);
}

/**
 * Whether messages of this type (transitively) contain Any, Struct, Value or ListValue fields,
 * whose object form differs from protobufjs's; walkers skip subtrees that do not.
 */
export function hasSpecialFields(type: protobuf.Type): boolean {
  const hit = specialCache.get(type);
  if (hit !== undefined) return hit;
  const seen = new Set<protobuf.Type>();
  const stack = [type];
  let result = false;
  while (stack.length > 0 && !result) {
    const t = stack.pop() as protobuf.Type;
    if (seen.has(t)) continue;
    seen.add(t);
    if (isSpecial(t) || specialCache.get(t) === true) result = true;
    else if (specialCache.get(t) !== false) {
      for (const f of t.fieldsArray) if (f.resolvedType instanceof protobuf.Type) stack.push(f.resolvedType);
    }
  }
  specialCache.set(type, result);
  return result;
}

const specialFieldsCache = new WeakMap<protobuf.Type, protobuf.Field[]>();

/** The message-typed fields of `type` whose subtree holds Any/Struct/Value/ListValue (see hasSpecialFields). */
export function specialFields(type: protobuf.Type): protobuf.Field[] {
  let fields = specialFieldsCache.get(type);
  if (!fields) {
    fields = type.fieldsArray.filter(
      (f) => f.resolvedType instanceof protobuf.Type && hasSpecialFields(f.resolvedType),
    );
    specialFieldsCache.set(type, fields);
  }
  return fields;
}

/** Edit distance, capped: returns max + 1 as soon as the distance exceeds `max`. */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      rowMin = Math.min(rowMin, cur[j]);
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

/** "unknown field", with the closest field name of `type` as a hint when one is near. */
export function unknownFieldMessage(type: protobuf.Type, key: string): string {
  const max = key.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = max + 1;
  for (const name of fieldIndex(type).keys()) {
    const d = distance(key.toLowerCase(), name.toLowerCase(), max);
    if (d < bestDistance) {
      best = fieldIndex(type).get(name)?.name;
      bestDistance = d;
    }
  }
  return best === undefined ? 'unknown field' : `unknown field (did you mean "${best}"?)`;
}

/** `obj[key] = value`, also for the key "__proto__" (JSON data may hold it; plain assignment would set the prototype). */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
