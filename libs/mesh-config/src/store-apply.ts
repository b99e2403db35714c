/**
 * Validate, then store: how YAML files (the folder registry) and single objects (a Kubernetes watch event) get
 * into the `ConfigStore`. Bad config never replaces good config:
 *
 * - a file that is not valid YAML is refused whole; every object last loaded from it keeps serving;
 * - an unknown kind, or an object with a bad field, is refused alone, with every field error; its last good
 *   version keeps serving;
 * - objects that disappeared from a file are deleted.
 *
 * Every refusal is recorded in the store (for `/debug/configz`) and logged with the caller's error code.
 */
import type { FieldError, Logger, MeshError } from '@tsmesh/core';
import { parseAllDocuments } from 'yaml';
import { ensureBuiltinKinds } from './builtin-kinds';
import { validateDocument } from './document';
import { meshConfigErrors } from './errors';
import { lookupKind } from './kinds';
import { storedNamespace, storeKey, type ConfigStore, type MeshObject } from './store';

export type RejectReason = 'invalid-yaml' | 'unknown-kind' | 'invalid-config';

/** What was refused and why, for the caller to word as one of its own catalogue errors. */
export interface RejectedInput {
  reason: RejectReason;
  /** The object's store key, or `file:<path>` for a whole file. */
  key: string;
  kind: string;
  apiVersion?: string;
  namespace: string;
  name: string;
  /** A file path or `kube`. */
  source: string;
  /** The parser's message (invalid-yaml). */
  detail?: string;
  fieldErrors: FieldError[];
}

export interface ApplyOptions {
  /**
   * Words a refusal as the caller's error (Pilot uses its `PILOT_ERR_*` codes): the message is recorded in the
   * store and the code logged. Defaults to mesh-config's own codes.
   */
  describe?: (r: RejectedInput) => MeshError;
  log?: Logger;
}

/** `stored`: new or changed; `unchanged`: the same object from the same source; `rejected`: refused. */
export type ApplyOutcome = 'stored' | 'unchanged' | 'rejected';

export interface ApplyFileResult {
  /** Objects stored new or changed. */
  applied: number;
  rejected: number;
  deleted: number;
  /** Set when the whole file could not be parsed. */
  fileError?: string;
}

const UNKNOWN_KIND: FieldError = { path: 'kind', message: 'unknown kind' };

/** Validates `input` and stores it, or records its rejection (its last good version stays). */
export function applyObject(store: ConfigStore, input: unknown, source: string, opts: ApplyOptions = {}): ApplyOutcome {
  const facts = inputFacts(input);
  const rejected = { ...facts, key: storeKey(facts.kind, facts.namespace, facts.name), source };
  if (!isMeshObject(input) || !isKnownKind(input.kind)) {
    refuse(store, { ...rejected, reason: 'unknown-kind', fieldErrors: [UNKNOWN_KIND] }, opts);
    return 'rejected';
  }
  const fieldErrors = validateMeshObject(input);
  if (fieldErrors.length > 0) {
    refuse(store, { ...rejected, reason: 'invalid-config', fieldErrors }, opts);
    return 'rejected';
  }
  return store.upsert(input, source) ? 'stored' : 'unchanged';
}

/**
 * Applies one file's content (multi-document YAML or JSON; `kind: List` items are expanded); `text === null` means
 * the file was removed, which deletes every object stored from it.
 */
export function applyFile(
  store: ConfigStore,
  file: string,
  text: string | null,
  opts: ApplyOptions = {},
): ApplyFileResult {
  const result: ApplyFileResult = { applied: 0, rejected: 0, deleted: 0 };
  const previous = store.keysFromSource(file);
  if (text === null) {
    store.clearRejectionsFrom(file);
    for (const k of previous) if (store.delete(k)) result.deleted++;
    return result;
  }
  const parsed = parseDocuments(text);
  if ('error' in parsed) {
    // Nothing of the file is read: the objects and rejections of its last parsed version stand.
    const err = refuse(
      store,
      {
        reason: 'invalid-yaml',
        key: `file:${file}`,
        kind: 'File',
        namespace: '',
        name: file,
        source: file,
        detail: parsed.error,
        fieldErrors: [],
      },
      opts,
    );
    result.fileError = err.message;
    return result;
  }
  // Rejections describe the file as it is now: those of objects fixed or gone from it go.
  store.clearRejectionsFrom(file);
  const seen = new Set<string>();
  for (const input of parsed.values) {
    if (input === null || input === undefined) continue;
    // A refused object of a known kind keeps its last good version, so it is not deleted below.
    if (isMeshObject(input) && isKnownKind(input.kind)) {
      const { kind, namespace, name } = inputFacts(input);
      seen.add(storeKey(kind, namespace, name));
    }
    const outcome = applyObject(store, input, file, opts);
    if (outcome === 'stored') result.applied++;
    else if (outcome === 'rejected') result.rejected++;
  }
  for (const k of previous) if (!seen.has(k) && store.delete(k)) result.deleted++;
  return result;
}

/**
 * Every field error of an object as written (empty when valid), from the one validator (`validate`): the
 * schema of every Istio and Kubernetes kind mesh-config knows, checked strictly with field paths. Objects from
 * the Kubernetes API arrive without an apiVersion (the watched resource implies it) and are checked as the
 * kind's own group and first served version.
 */
export function validateMeshObject(obj: MeshObject): FieldError[] {
  if (!isKnownKind(obj.kind)) return [{ path: 'kind', message: `unknown kind ${String(obj.kind)}` }];
  const doc = obj.apiVersion ? obj : { ...obj, apiVersion: impliedApiVersion(obj.kind) };
  return validateDocument(doc).errors.map((e) => ({ path: e.path, message: e.message }));
}

function isKnownKind(kind: unknown): kind is string {
  if (typeof kind !== 'string' || kind === '') return false;
  ensureBuiltinKinds();
  return lookupKind(kind) !== undefined;
}

function impliedApiVersion(kind: string): string | undefined {
  const def = lookupKind(kind);
  if (!def) return undefined;
  return def.group ? `${def.group}/${def.versions[0]}` : def.versions[0];
}

function isMeshObject(v: unknown): v is MeshObject {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** Kind, apiVersion, namespace and name of any input, for keys and messages (empty where missing). */
function inputFacts(input: unknown): Pick<RejectedInput, 'kind' | 'apiVersion' | 'namespace' | 'name'> {
  const o = (isMeshObject(input) ? input : {}) as Partial<MeshObject>;
  const kind = String(o.kind ?? '');
  const ns = o.metadata?.namespace;
  return {
    kind,
    apiVersion: o.apiVersion === undefined ? undefined : String(o.apiVersion),
    namespace: storedNamespace(kind, ns === undefined || ns === null ? undefined : String(ns)),
    name: String(o.metadata?.name ?? ''),
  };
}

/** The documents of a file (with `List` items expanded), or the first parse error. */
function parseDocuments(text: string): { values: unknown[] } | { error: string } {
  const docs = parseAllDocuments(text);
  const first = docs.flatMap((d) => d.errors)[0];
  if (first) return { error: first.message.split('\n')[0] };
  try {
    return { values: docs.flatMap((d) => listItems(d.toJS({ maxAliasCount: 100 }))) };
  } catch (e) {
    // An alias to no anchor, or an alias bomb: the file is as unusable as one that does not parse.
    return { error: (e as Error).message.split('\n')[0] };
  }
}

function listItems(doc: unknown): unknown[] {
  if (isMeshObject(doc) && doc.kind === 'List' && Array.isArray(doc['items'])) return doc['items'] as unknown[];
  return [doc];
}

function refuse(store: ConfigStore, r: RejectedInput, opts: ApplyOptions): MeshError {
  const err = (opts.describe ?? describeRejection)(r);
  store.reject({
    key: r.key,
    kind: r.kind,
    name: r.name,
    source: r.source,
    error: err.message,
    fieldErrors: r.fieldErrors,
  });
  opts.log?.warn(
    { code: err.code, source: r.source, key: r.key, fieldErrors: r.fieldErrors, err: err.message },
    'config rejected',
  );
  return err;
}

/** mesh-config's own wording of a refusal. */
function describeRejection(r: RejectedInput): MeshError {
  switch (r.reason) {
    case 'invalid-yaml':
      return meshConfigErrors.error('MESH_CONFIG_ERR_INVALID_YAML', { detail: `${r.source}: ${r.detail}` });
    case 'unknown-kind':
      return meshConfigErrors.error('MESH_CONFIG_ERR_UNKNOWN_KIND', { kind: r.kind, apiVersion: r.apiVersion });
    case 'invalid-config':
      return meshConfigErrors.error(
        'MESH_CONFIG_ERR_INVALID_CONFIG',
        { what: `${r.kind} ${r.namespace}/${r.name}` },
        r.fieldErrors,
      );
  }
}
