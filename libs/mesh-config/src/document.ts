import { meshConfigErrors } from './errors';
import { toConfigObject, type LoadOptions } from './loader';
import { toConfigError, validate } from './validate';
import type { ConfigError, ConfigObject } from './types/object';

export interface DocumentResult {
  /** The normalized object; absent when there are errors. */
  object?: ConfigObject;
  errors: ConfigError[];
  warnings: ConfigError[];
}

/**
 * Validates one already-parsed document (an AdmissionReview `object`, a
 * Kubernetes watch event, a JSON body of the config API) in one call.
 */
export function validateDocument(doc: unknown, opts: LoadOptions & { file?: string } = {}): DocumentResult {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    const detail = `document is ${Array.isArray(doc) ? 'a list' : doc === null ? 'null' : `a ${typeof doc}`}, not an object`;
    return {
      errors: [
        {
          file: opts.file,
          path: '',
          severity: 'error',
          code: 'MESH_CONFIG_ERR_INVALID_OBJECT',
          message: meshConfigErrors.error('MESH_CONFIG_ERR_INVALID_OBJECT', { detail }).message,
        },
      ],
      warnings: [],
    };
  }
  const built = toConfigObject(doc as Record<string, unknown>, opts);
  if ('error' in built) {
    return {
      errors: [
        {
          file: opts.file,
          kind: built.kind,
          name: built.name,
          path: '',
          severity: 'error',
          code: 'MESH_CONFIG_ERR_INVALID_OBJECT',
          message: meshConfigErrors.error('MESH_CONFIG_ERR_INVALID_OBJECT', { detail: built.error }).message,
        },
      ],
      warnings: [],
    };
  }
  const obj = built.object;
  if (opts.file) obj.source = { file: opts.file, line: 1 };
  const r = validate(obj);
  const out: DocumentResult = {
    errors: r.errors.map((e) => toConfigError(obj, e, 'error')),
    warnings: r.warnings.map((w) => toConfigError(obj, w, 'warning')),
  };
  if (r.object) out.object = r.object;
  return out;
}
