/** google.protobuf.Struct as proto-loader delivers it (`{fields: {k: {kind, string_value, ...}}}`) → plain JSON. */
type Obj = Record<string, unknown>;

function value(v: unknown): unknown {
  if (!v || typeof v !== 'object') return v;
  const o = v as Obj;
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
