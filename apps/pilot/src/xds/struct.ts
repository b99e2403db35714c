/** google.protobuf.Struct as proto-loader delivers it (`{fields: {k: {kind, string_value, ...}}}`) → plain JSON. */
type Obj = Record<string, unknown>;

const CAMEL: Record<string, string> = {
  stringValue: 'string_value',
  numberValue: 'number_value',
  boolValue: 'bool_value',
  structValue: 'struct_value',
  listValue: 'list_value',
  nullValue: 'null_value',
};

/** protobufjs ships Value with camelCase names whatever keepCase says; accept both spellings. */
function snake(o: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o))
    out[CAMEL[k] ?? k] = k === 'kind' && typeof v === 'string' ? (CAMEL[v] ?? v) : v;
  return out;
}

function value(v: unknown): unknown {
  if (!v || typeof v !== 'object') return v;
  const o = snake(v as Obj);
  const kind = typeof o['kind'] === 'string' ? (o['kind'] as string) : undefined;
  const pick =
    kind ??
    ['string_value', 'number_value', 'bool_value', 'struct_value', 'list_value', 'null_value'].find(
      (k) => o[k] !== undefined && o[k] !== null,
    );
  switch (pick) {
    case 'string_value':
      return o['string_value'];
    case 'number_value':
      return o['number_value'];
    case 'bool_value':
      return o['bool_value'];
    case 'struct_value':
      return structToJson(o['struct_value']);
    case 'list_value':
      return (((o['list_value'] as Obj | undefined)?.['values'] as unknown[]) ?? []).map(value);
    default:
      return null;
  }
}

export function structToJson(s: unknown): Record<string, unknown> {
  if (!s || typeof s !== 'object') return {};
  const fields = (s as Obj)['fields'];
  if (!fields || typeof fields !== 'object') return { ...(s as Obj) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields as Obj)) out[k] = value(v);
  return out;
}
