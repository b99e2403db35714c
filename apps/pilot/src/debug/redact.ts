/**
 * What the debug endpoints show of secret material: Kubernetes Secrets keep their keys but not their values (nor
 * the `kubectl apply` annotation, which holds a full copy of the object), and Envoy resources show private keys
 * and passwords as Envoy's own config_dump does, `[redacted]`.
 */
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

export const REDACTED = '[redacted]';

/** Envoy fields marked `(udpa.annotations.sensitive)` that can carry secret bytes inline. */
const SENSITIVE = new Set(['private_key', 'password']);

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function redactValues(map: unknown): unknown {
  if (!isObj(map)) return map;
  return Object.fromEntries(Object.keys(map).map((k) => [k, REDACTED]));
}

/** A stored object as `/debug/configz` may show it. Objects other than Secrets are returned unchanged. */
export function redactStored(o: Obj): Obj {
  if (o['kind'] !== 'Secret') return o;
  const out: Obj = { ...o };
  for (const k of ['data', 'stringData']) if (k in out) out[k] = redactValues(out[k]);
  const meta = isObj(o['metadata']) ? o['metadata'] : undefined;
  if (meta && isObj(meta['annotations']) && LAST_APPLIED in meta['annotations'])
    out['metadata'] = { ...meta, annotations: { ...meta['annotations'], [LAST_APPLIED]: REDACTED } };
  return out;
}

/** An Envoy resource (any type) with inline private keys and passwords replaced; file names stay. */
export function redactResource<T>(m: T): T {
  if (Array.isArray(m)) return m.map((x) => redactResource(x)) as T;
  if (!isObj(m) || ArrayBuffer.isView(m)) return m;
  const out: Obj = {};
  for (const [k, v] of Object.entries(m)) {
    if (SENSITIVE.has(k) && isObj(v) && ('inline_bytes' in v || 'inline_string' in v))
      out[k] = { inline_string: REDACTED };
    else out[k] = redactResource(v);
  }
  return out as T;
}
