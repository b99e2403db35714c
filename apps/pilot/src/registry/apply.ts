/**
 * Applying YAML text to the config store with Pilot's bad-input rules:
 * invalid YAML rejects the file (its objects keep their last good version),
 * an unknown kind or a bad field rejects that object only (last good version
 * stays), objects that disappeared from a file are deleted.
 */
import type { FieldError, Logger } from '@tsmesh/core';
import { parseAllDocuments } from 'yaml';
import { pilotErrors } from '../errors';
import { objectKey, type ConfigStore, type MeshObject } from '../model/store';
import { isKnownKind, validateObject } from '../model/validate';

export interface ApplyResult {
  applied: number;
  rejected: number;
  deleted: number;
  /** Set when the whole file could not be parsed. */
  fileError?: string;
}

function flatten(doc: unknown): unknown[] {
  if (
    doc &&
    typeof doc === 'object' &&
    (doc as MeshObject).kind === 'List' &&
    Array.isArray((doc as { items?: unknown }).items)
  )
    return (doc as { items: unknown[] }).items;
  return [doc];
}

/** Applies one file's content; `text === null` means the file was removed. */
export function applyFile(store: ConfigStore, file: string, text: string | null, log?: Logger): ApplyResult {
  const result: ApplyResult = { applied: 0, rejected: 0, deleted: 0 };
  const previous = new Set(store.keysFromSource(file));
  if (text === null) {
    for (const k of previous) if (store.delete(k)) result.deleted++;
    return result;
  }
  const docs = parseAllDocuments(text);
  const yamlErrors = docs.flatMap((d) => d.errors);
  if (yamlErrors.length > 0) {
    const err = pilotErrors.error('PILOT_ERR_INVALID_YAML', { file, detail: yamlErrors[0].message.split('\n')[0] });
    store.reject({ key: `file:${file}`, kind: 'File', name: file, source: file, error: err.message, fieldErrors: [] });
    log?.warn({ code: err.code, file, err: err.message }, 'config rejected');
    result.fileError = err.message;
    return result;
  }
  store.clearRejection(`file:${file}`);
  const seen = new Set<string>();
  for (const doc of docs) {
    for (const raw of flatten(doc.toJS())) {
      if (raw === null || raw === undefined) continue;
      const obj = raw as MeshObject;
      const name = String(obj?.metadata?.name ?? '');
      const ns = obj?.kind === 'Namespace' ? '' : (obj?.metadata?.namespace ?? 'default');
      const key = objectKey(String(obj?.kind ?? ''), ns, name);
      if (!obj || typeof obj !== 'object' || !isKnownKind(obj.kind)) {
        const err = pilotErrors.error('PILOT_ERR_UNKNOWN_KIND', {
          file,
          object: name || '(unnamed)',
          kind: String(obj?.kind),
        });
        store.reject({
          key,
          kind: String(obj?.kind),
          name,
          source: file,
          error: err.message,
          fieldErrors: [{ path: 'kind', message: 'unknown kind' }],
        });
        log?.warn({ code: err.code, file, object: name, path: 'kind' }, 'config rejected');
        result.rejected++;
        continue;
      }
      const fieldErrors: FieldError[] = validateObject(obj);
      seen.add(key);
      if (fieldErrors.length > 0) {
        const err = pilotErrors.error(
          'PILOT_ERR_INVALID_CONFIG',
          { file, kind: obj.kind, object: `${ns}/${name}` },
          fieldErrors,
        );
        store.reject({ key, kind: obj.kind, name, source: file, error: err.message, fieldErrors });
        log?.warn({ code: err.code, file, kind: obj.kind, object: `${ns}/${name}`, fieldErrors }, 'config rejected');
        result.rejected++;
        continue;
      }
      if (store.upsert(obj, file)) result.applied++;
    }
  }
  for (const k of previous) if (!seen.has(k) && store.delete(k)) result.deleted++;
  return result;
}
