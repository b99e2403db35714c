/**
 * What Pilot accepts is decided by one validator, `@tsmesh/mesh-config`'s
 * `validate` (the same rules as `tsmesh validate` and the validating webhook):
 * every Istio and Kubernetes kind it knows, checked strictly with field paths.
 * Pilot keeps only the adapter from its stored object shape to that call.
 */
import type { FieldError } from '@tsmesh/core';
import { ensureBuiltinKinds, lookupKind, toConfigObject, validate } from '@tsmesh/mesh-config';
import type { MeshObject } from './store';

/** True for every kind `@tsmesh/mesh-config` knows (others are rejected as unknown). */
export function isKnownKind(kind: unknown): kind is string {
  if (typeof kind !== 'string' || kind === '') return false;
  ensureBuiltinKinds();
  return lookupKind(kind) !== undefined;
}

/**
 * The apiVersion an object without one is validated as: the kind's own group and first served
 * version. Objects from the Kubernetes API arrive without it (the watched resource implies it).
 */
function impliedApiVersion(kind: string): string | undefined {
  const def = lookupKind(kind);
  if (!def) return undefined;
  return def.group ? `${def.group}/${def.versions[0]}` : def.versions[0];
}

/** Returns every field error of `obj` (empty when valid). */
export function validateObject(obj: MeshObject): FieldError[] {
  if (!isKnownKind(obj.kind)) return [{ path: 'kind', message: `unknown kind ${String(obj.kind)}` }];
  const doc = (obj.apiVersion ? obj : { ...obj, apiVersion: impliedApiVersion(obj.kind) }) as Record<string, unknown>;
  const converted = toConfigObject(doc);
  if ('error' in converted) return [{ path: '', message: converted.error }];
  return validate(converted.object).errors.map((e) => ({ path: e.path, message: e.message }));
}
