import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments, isMap, isSeq, isPair, isScalar, type Node } from 'yaml';
import { meshConfigErrors } from './errors';
import { ensureBuiltinKinds } from './builtin-kinds';
import { isClusterScoped, lookupKind } from './kinds';
import type { ConfigError, ConfigObject, ObjectMeta } from './types/object';

export interface LoadResult {
  objects: ConfigObject[];
  errors: ConfigError[];
}

export interface LoadOptions {
  /** Namespace for namespaced objects that name none (like `kubectl apply -n`); default `default`. */
  defaultNamespace?: string;
  /** Larger inputs are refused unparsed (default 8 MiB). */
  maxBytes?: number;
  /** Larger single documents are refused (default 1.5 MiB, Kubernetes' object size limit). */
  maxDocumentBytes?: number;
}

export const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_DOCUMENT_BYTES = 1.5 * 1024 * 1024;

const META_FIELDS = new Set([
  'name',
  'namespace',
  'labels',
  'annotations',
  'resourceVersion',
  'uid',
  'generation',
  'creationTimestamp',
  'ownerReferences',
  'generateName',
  'finalizers',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'clusterName',
]);

/**
 * Parses multi-document YAML (or JSON) into config objects, keeping the file
 * and line of every document and field. Empty documents are skipped, `List`
 * kinds (and JSON arrays) are expanded. Structural problems (syntax, a
 * document that is not an object, missing apiVersion/kind) are returned as
 * errors; field checks are `validate()`'s job.
 */
export function loadYaml(text: string, file = '<input>', opts: LoadOptions = {}): LoadResult {
  ensureBuiltinKinds();
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (text.length > maxBytes) {
    return {
      objects: [],
      errors: [
        structural(
          file,
          1,
          `input is ${text.length} bytes, more than the ${maxBytes} allowed`,
          'MESH_CONFIG_ERR_INVALID_YAML',
        ),
      ],
    };
  }
  const maxDoc = opts.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const out: LoadResult = { objects: [], errors: [] };
  const lineOf = (offset: number) => lc.linePos(offset).line;
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    if (doc.errors.length > 0) {
      // Later syntax errors in a document mostly cascade from the first; report that one.
      for (const e of doc.errors.slice(0, 1)) {
        out.errors.push({
          file,
          line: lineOf(e.pos[0]),
          path: '',
          severity: 'error',
          code: 'MESH_CONFIG_ERR_INVALID_YAML',
          message: meshConfigErrors.error('MESH_CONFIG_ERR_INVALID_YAML', { detail: firstLine(e.message) }).message,
        });
      }
      continue;
    }
    const root = doc.contents;
    if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) continue;
    const docLine = lineOf(root.range?.[0] ?? 0);
    const size = (root.range?.[2] ?? 0) - (root.range?.[0] ?? 0);
    if (size > maxDoc) {
      out.errors.push(structural(file, docLine, `document is ${size} bytes, more than the ${maxDoc} allowed`));
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      out.errors.push(structural(file, docLine, `${(e as Error).message}`, 'MESH_CONFIG_ERR_INVALID_YAML'));
      continue;
    }
    addDocument(value, root as Node, file, lineOf, opts, out);
  }
  return out;
}

function addDocument(
  value: unknown,
  node: Node,
  file: string,
  lineOf: (o: number) => number,
  opts: LoadOptions,
  out: LoadResult,
): void {
  const line = lineOf(node.range?.[0] ?? 0);
  if (Array.isArray(value)) {
    value.forEach((item, i) => addDocument(item, itemNode(node, i) ?? node, file, lineOf, opts, out));
    return;
  }
  if (value === null || typeof value !== 'object') {
    out.errors.push(structural(file, line, `document is a ${value === null ? 'null' : typeof value}, not an object`));
    return;
  }
  const o = value as Record<string, unknown>;
  if (typeof o['kind'] === 'string' && /List$/.test(o['kind']) && Array.isArray(o['items'])) {
    const items = mapChild(node, 'items');
    (o['items'] as unknown[]).forEach((item, i) =>
      addDocument(item, (items && itemNode(items, i)) ?? node, file, lineOf, opts, out),
    );
    return;
  }
  const res = toConfigObject(o, opts);
  if ('error' in res) {
    out.errors.push({ ...structural(file, line, res.error), kind: res.kind, name: res.name });
    return;
  }
  const fieldLines: Record<string, number> = {};
  collectLines(node, '', lineOf, fieldLines);
  res.object.source = { file, line, fieldLines };
  out.objects.push(res.object);
}

/**
 * Builds a ConfigObject from a plain document (YAML-parsed or from the
 * Kubernetes API). Namespace defaults to `default` for namespaced kinds.
 */
export function toConfigObject(
  doc: Record<string, unknown>,
  opts: LoadOptions = {},
): { object: ConfigObject } | { error: string; kind?: string; name?: string } {
  ensureBuiltinKinds();
  const kind = doc['kind'];
  const apiVersion = doc['apiVersion'];
  const metaRaw = doc['metadata'];
  const name = metaRaw && typeof metaRaw === 'object' ? (metaRaw as Record<string, unknown>)['name'] : undefined;
  const nameStr = typeof name === 'string' ? name : undefined;
  if (typeof kind !== 'string' || kind === '') return { error: 'missing kind', name: nameStr };
  if (typeof apiVersion !== 'string' || apiVersion === '') return { error: 'missing apiVersion', kind, name: nameStr };
  if (metaRaw !== undefined && (metaRaw === null || typeof metaRaw !== 'object' || Array.isArray(metaRaw))) {
    return { error: 'metadata must be an object', kind };
  }
  const meta = (metaRaw ?? {}) as Record<string, unknown>;
  const clusterScoped = isClusterScoped(kind);
  const metadata: ObjectMeta = {
    ...(meta as Partial<ObjectMeta>),
    name: nameStr ?? '',
    namespace: clusterScoped
      ? ''
      : typeof meta['namespace'] === 'string' && meta['namespace'] !== ''
        ? meta['namespace']
        : (opts.defaultNamespace ?? 'default'),
    labels: isStringMap(meta['labels']) ? { ...meta['labels'] } : {},
    annotations: isStringMap(meta['annotations']) ? { ...meta['annotations'] } : {},
  };
  const def = lookupKind(kind);
  let spec: unknown;
  let status: unknown;
  if (def?.specless) {
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc)) if (k !== 'apiVersion' && k !== 'kind' && k !== 'metadata') body[k] = v;
    spec = body;
  } else {
    spec = doc['spec'] ?? {};
    status = doc['status'];
  }
  const object: ConfigObject = { apiVersion, kind, metadata, spec, raw: doc };
  if (status !== undefined) object.status = status;
  return { object };
}

/** The document body an object was made from (what kind schemas describe). */
export function bodyOf(obj: ConfigObject): Record<string, unknown> {
  const raw = obj.raw as Record<string, unknown> | undefined;
  if (raw && typeof raw === 'object') {
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) if (k !== 'apiVersion' && k !== 'kind' && k !== 'metadata') body[k] = v;
    return body;
  }
  const def = lookupKind(obj.kind);
  if (def?.specless) return { ...((obj.spec as Record<string, unknown>) ?? {}) };
  const body: Record<string, unknown> = {};
  if (obj.spec !== undefined) body['spec'] = obj.spec;
  if (obj.status !== undefined) body['status'] = obj.status;
  return body;
}

export function rawMetadataFields(obj: ConfigObject): string[] {
  const raw = obj.raw as Record<string, unknown> | undefined;
  const meta = raw?.['metadata'];
  return meta && typeof meta === 'object' ? Object.keys(meta).filter((k) => !META_FIELDS.has(k)) : [];
}

export function loadFile(path: string, opts: LoadOptions = {}): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const detail = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return {
      objects: [],
      errors: [
        {
          file: path,
          path: '',
          severity: 'error',
          code: 'MESH_CONFIG_ERR_READ_FAILED',
          message: meshConfigErrors.error('MESH_CONFIG_ERR_READ_FAILED', { file: path, detail }).message,
        },
      ],
    };
  }
  return loadYaml(text, path, opts);
}

const CONFIG_FILE = /\.(ya?ml|json)$/i;

/** Loads every `.yaml`/`.yml`/`.json` file under `dir` (recursively, sorted, dot-files skipped). */
export function loadDir(dir: string, opts: LoadOptions = {}): LoadResult {
  const out: LoadResult = { objects: [], errors: [] };
  for (const file of listConfigFiles(dir)) {
    const r = loadFile(file, opts);
    out.objects.push(...r.objects);
    out.errors.push(...r.errors);
  }
  return out;
}

export function listConfigFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith('.')) continue;
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (CONFIG_FILE.test(name)) files.push(p);
    }
  };
  walk(dir);
  return files;
}

function structural(
  file: string,
  line: number,
  detail: string,
  code: 'MESH_CONFIG_ERR_INVALID_OBJECT' | 'MESH_CONFIG_ERR_INVALID_YAML' = 'MESH_CONFIG_ERR_INVALID_OBJECT',
): ConfigError {
  return { file, line, path: '', severity: 'error', code, message: meshConfigErrors.error(code, { detail }).message };
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}

function isStringMap(v: unknown): v is Record<string, string> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function itemNode(node: Node, i: number): Node | undefined {
  return isSeq(node) ? ((node.items[i] as Node | undefined) ?? undefined) : undefined;
}

function mapChild(node: Node, key: string): Node | undefined {
  if (!isMap(node)) return undefined;
  for (const pair of node.items) {
    if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === key) return (pair.value as Node) ?? undefined;
  }
  return undefined;
}

function collectLines(node: Node, path: string, lineOf: (o: number) => number, out: Record<string, number>): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const p = path ? `${path}.${String(pair.key.value)}` : String(pair.key.value);
      out[p] = lineOf(pair.key.range?.[0] ?? 0);
      if (pair.value) collectLines(pair.value as Node, p, lineOf, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const p = `${path}[${i}]`;
      const n = item as Node;
      if (n && n.range) out[p] = lineOf(n.range[0]);
      if (n) collectLines(n, p, lineOf, out);
    });
  }
}
