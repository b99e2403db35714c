import { ensureBuiltinKinds } from './builtin-kinds';
import { kindValidators, lookupKind, splitApiVersion, type CheckContext } from './kinds';
import { bodyOf, rawMetadataFields } from './loader';
import { checkValue, issue, unknownField, type Issue, type Issues } from './schema';
import { crossObjectWarnings } from './cross-checks';
import { key, type ConfigError, type ConfigObject, type Severity, type ValidationIssue } from './types/object';

export interface ValidateResult {
  /** The normalized object (latest-Istio shape); absent when there are errors. */
  object?: ConfigObject;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Checks one object against its kind's schema, normalizes it, runs the
 * semantic checks and any validators registered for the kind. Collects every
 * problem; never throws on bad input.
 */
export function validate(obj: ConfigObject): ValidateResult {
  ensureBuiltinKinds();
  const out: Issues = { errors: [], warnings: [] };
  const def = lookupKind(obj.kind);
  if (!def) {
    out.errors.push(issue('kind', 'MESH_CONFIG_ERR_UNKNOWN_KIND', { kind: obj.kind, apiVersion: obj.apiVersion }));
    return toResult(out);
  }
  const { group, version } = splitApiVersion(obj.apiVersion ?? '');
  const served =
    (group === def.group && def.versions.includes(version)) || def.extraApiVersions?.includes(obj.apiVersion);
  if (!served) {
    // Another API's kind of the same name (Gateway API `Gateway`) is not ours at all; a wrong
    // version of our group is. Either way the schema would only add noise.
    if (group !== def.group && !def.extraApiVersions?.some((v) => splitApiVersion(v).group === group)) {
      out.errors.push(issue('kind', 'MESH_CONFIG_ERR_UNKNOWN_KIND', { kind: obj.kind, apiVersion: obj.apiVersion }));
      return toResult(out);
    }
    const accepted = [
      ...def.versions.map((v) => (def.group ? `${def.group}/${v}` : v)),
      ...(def.extraApiVersions ?? []),
    ].join(', ');
    out.errors.push(
      issue('apiVersion', 'MESH_CONFIG_ERR_INVALID_VALUE', {
        detail: `kind ${obj.kind} is not served by ${obj.apiVersion} (accepted: ${accepted})`,
      }),
    );
    return toResult(out);
  }
  const name = obj.metadata?.name;
  if (!name) out.errors.push(issue('metadata.name', 'MESH_CONFIG_ERR_MISSING_FIELD'));
  else if (!NAME_RE.test(name) || name.length > 253) {
    out.errors.push(
      issue('metadata.name', 'MESH_CONFIG_ERR_INVALID_VALUE', {
        detail: `name ${JSON.stringify(name)} must be a lower-case DNS-1123 name`,
      }),
    );
  }
  for (const f of rawMetadataFields(obj)) {
    out.errors.push(unknownField(`metadata.${f}`, f, ['name', 'namespace', 'labels', 'annotations']));
  }
  const rawNs = (obj.raw as { metadata?: Record<string, unknown> } | undefined)?.metadata?.['namespace'];
  if (rawNs !== undefined && rawNs !== null && typeof rawNs !== 'string') {
    out.errors.push(
      issue('metadata.namespace', 'MESH_CONFIG_ERR_WRONG_TYPE', { expected: 'string', actual: typeof rawNs }),
    );
  }
  checkStringMap(obj, 'labels', out);
  checkStringMap(obj, 'annotations', out);

  const cleaned = (checkValue(def.schema, bodyOf(obj), '', out) ?? {}) as Record<string, unknown>;
  let spec: Record<string, unknown> = def.specless
    ? cleaned
    : ((cleaned['spec'] as Record<string, unknown> | undefined) ?? {});
  const ctx: CheckContext = {
    // One error per path: a value the schema already refused is not reported again as missing.
    error: (i) => {
      const dup = out.errors.some(
        (e) => e.path === i.path && (i.code === 'MESH_CONFIG_ERR_MISSING_FIELD' || e.message === i.message),
      );
      if (!dup) out.errors.push(i);
    },
    warn: (path, message) => out.warnings.push({ path, message }),
  };
  try {
    if (def.normalize) spec = def.normalize(spec, ctx);
  } catch (e) {
    out.errors.push({ path: 'spec', message: `cannot normalize: ${(e as Error).message}` });
  }
  const normalized: ConfigObject<Record<string, unknown>> = {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: obj.metadata,
    spec,
    raw: obj.raw ?? structuredClone(obj),
  };
  if (!def.specless && cleaned['status'] !== undefined) normalized.status = cleaned['status'];
  if (obj.source) normalized.source = obj.source;
  // A spec that is not even an object has nothing for semantic checks to say.
  const specBroken = out.errors.some((e) => e.path === 'spec' || e.path === '');
  try {
    if (!specBroken) def.check?.(normalized, ctx);
  } catch (e) {
    // A checker bug must not take the caller (a store, a webhook) down with it.
    out.errors.push({ path: 'spec', message: `validation failed: ${(e as Error).message}` });
  }
  for (const validator of kindValidators.get(obj.kind) ?? []) {
    try {
      const r = validator(normalized);
      if (Array.isArray(r)) out.errors.push(...r);
      else if (r) {
        out.errors.push(...r.errors);
        out.warnings.push(...r.warnings);
      }
    } catch (e) {
      out.errors.push({ path: '', message: `validator failed: ${(e as Error).message}` });
    }
  }
  const res = toResult(out);
  if (res.errors.length === 0) res.object = normalized;
  return res;
}

function checkStringMap(obj: ConfigObject, field: 'labels' | 'annotations', out: Issues): void {
  const raw =
    (obj.raw as { metadata?: Record<string, unknown> } | undefined)?.metadata?.[field] ?? obj.metadata?.[field];
  if (raw === undefined || raw === null) return;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    out.errors.push(issue(`metadata.${field}`, 'MESH_CONFIG_ERR_WRONG_TYPE', { expected: 'map', actual: typeof raw }));
    return;
  }
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') {
      out.errors.push(
        issue(`metadata.${field}.${k}`, 'MESH_CONFIG_ERR_WRONG_TYPE', { expected: 'string', actual: typeof v }),
      );
    }
  }
}

function toResult(out: Issues): ValidateResult {
  const strip = (i: Issue): ValidationIssue =>
    i.code ? { path: i.path, message: i.message, code: i.code } : { path: i.path, message: i.message };
  return { errors: out.errors.map(strip), warnings: out.warnings.map(strip) };
}

/** The line of `path` in the object's source document, or of its nearest written ancestor. */
export function lineOf(obj: ConfigObject, path: string): number | undefined {
  const lines = obj.source?.fieldLines;
  let p = path;
  while (lines && p) {
    if (lines[p] !== undefined) return lines[p];
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    p = cut > 0 ? p.slice(0, cut) : '';
  }
  return obj.source?.line;
}

/** A field issue of `obj` as a ConfigError (file, line, kind, namespace, name). */
export function toConfigError(obj: ConfigObject, i: ValidationIssue, severity: Severity): ConfigError {
  const e: ConfigError = {
    kind: obj.kind,
    namespace: obj.metadata?.namespace || undefined,
    name: obj.metadata?.name,
    path: i.path,
    message: i.message,
    severity,
  };
  if (obj.source?.file) e.file = obj.source.file;
  const line = lineOf(obj, i.path);
  if (line !== undefined) e.line = line;
  if (i.code) e.code = i.code;
  return e;
}

export interface ValidateAllResult {
  /** One result per input object, in order. */
  results: ValidateResult[];
  /** The normalized objects that passed. */
  objects: ConfigObject[];
  /** Every error and warning (per-object and cross-object), addressed by file, line, object and path. */
  errors: ConfigError[];
}

/**
 * Validates a batch, then adds cross-object warnings (a subset a
 * VirtualService routes to that no DestinationRule defines; an object defined
 * twice). `context` adds already-accepted objects for the cross-object checks.
 */
export function validateAll(objects: ConfigObject[], context: ConfigObject[] = []): ValidateAllResult {
  const results = objects.map((o) => validate(o));
  const errors: ConfigError[] = [];
  const valid: ConfigObject[] = [];
  const seen = new Map<string, ConfigObject>();
  objects.forEach((o, i) => {
    const r = results[i];
    for (const e of r.errors) errors.push(toConfigError(o, e, 'error'));
    for (const w of r.warnings) errors.push(toConfigError(o, w, 'warning'));
    if (!r.object) return;
    const k = key(r.object);
    const prev = seen.get(k);
    if (prev) {
      const where = prev.source ? ` (first at ${prev.source.file}:${prev.source.line})` : '';
      errors.push(
        toConfigError(
          o,
          { path: '', message: `defined more than once in this batch${where}; the last one wins` },
          'warning',
        ),
      );
    }
    seen.set(k, r.object);
    valid.push(r.object);
  });
  const batchKeys = new Set(valid.map(key));
  const all = [...context.filter((c) => !batchKeys.has(key(c))), ...valid];
  for (const w of crossObjectWarnings(valid, all)) errors.push(toConfigError(w.object, w.issue, 'warning'));
  return { results, objects: valid, errors };
}
