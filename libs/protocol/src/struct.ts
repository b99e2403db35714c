import { setKey } from './reflect';

/**
 * google.protobuf.Struct in the form gRPC messages from the service definitions carry
 * (`{ fields: { key: { stringValue: 'x' } } }`, as @grpc/proto-loader gives them — protobufjs's
 * built-in Value has camelCase field names even with keepCase) ⇄ plain JSON. Use these for
 * `DiscoveryRequest.node.metadata` and the like; the object form (decode/fromJson) already has
 * plain JSON.
 */
export interface GrpcStruct {
  fields?: Record<string, GrpcValue>;
}

export interface GrpcValue {
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: GrpcStruct | null;
  listValue?: { values?: GrpcValue[] } | null;
  kind?: string;
  [snakeCase: string]: unknown;
}

/** Plain JSON object from a Struct in gRPC (proto-loader) form; accepts snake_case keys too. */
export function structToJson(struct: GrpcStruct | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(struct?.fields ?? {})) setKey(out, k, valueToJson(v));
  return out;
}

/** Plain JSON from a Value in gRPC (proto-loader) form. */
export function valueToJson(v: GrpcValue | null | undefined): unknown {
  if (!v) return null;
  const pick = (camel: string, snake: string) => (v[camel] !== undefined && v[camel] !== null ? v[camel] : v[snake]);
  const kind = typeof v.kind === 'string' ? v.kind : undefined;
  const has = (camel: string, snake: string) =>
    kind !== undefined
      ? kind === camel || kind === snake
      : pick(camel, snake) !== undefined && pick(camel, snake) !== null;
  if (has('stringValue', 'string_value')) return pick('stringValue', 'string_value');
  if (has('numberValue', 'number_value')) return Number(pick('numberValue', 'number_value'));
  if (has('boolValue', 'bool_value')) return pick('boolValue', 'bool_value');
  if (has('structValue', 'struct_value')) return structToJson(pick('structValue', 'struct_value') as GrpcStruct);
  if (has('listValue', 'list_value')) {
    const list = pick('listValue', 'list_value') as { values?: GrpcValue[] } | null;
    return (list?.values ?? []).map(valueToJson);
  }
  return null;
}

/** Struct in gRPC (proto-loader) form from a plain JSON object, for messages sent via the service definitions. */
export function jsonToStruct(obj: Record<string, unknown>): GrpcStruct {
  const fields: Record<string, GrpcValue> = {};
  for (const [k, v] of Object.entries(obj)) setKey(fields, k, jsonToValue(v));
  return { fields };
}

/** Value in gRPC (proto-loader) form from JSON data. */
export function jsonToValue(v: unknown): GrpcValue {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonToValue) } };
  return { structValue: jsonToStruct(v as Record<string, unknown>) };
}
