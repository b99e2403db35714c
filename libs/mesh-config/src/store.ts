/**
 * The config store Pilot serves from: Istio config plus Kubernetes Service, Endpoints, EndpointSlice, Pod,
 * Namespace and Secret objects, as written (not normalized), keyed `Kind/namespace/name`. A rejected object is
 * recorded with its errors while its last good version (if any) keeps serving; listeners hear about every
 * effective change with its scope (endpoints only, or config). Writers go through `applyFile` / `applyObject`
 * (store-apply.ts), which validate before they store.
 */
import type { FieldError } from '@tsmesh/core';
import { makeKey, type ConfigKey } from './types/object';

/** Metadata as written; the store fills in the namespace. */
export interface MeshObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  creationTimestamp?: string;
}

/** A config object in its YAML/JSON (or Kubernetes API) form: an Istio CRD or a Kubernetes object. */
export interface MeshObject {
  apiVersion?: string;
  kind: string;
  metadata: MeshObjectMeta;
  spec?: unknown;
  [field: string]: unknown;
}

export interface StoredObject {
  key: ConfigKey;
  kind: string;
  namespace: string;
  name: string;
  object: MeshObject;
  /** Where it came from: a file path or `kube`. */
  source: string;
  /** Store revision at which it was last written. */
  revision: number;
}

export interface Rejection {
  /** The object's key, or `file:<path>` when the whole file was refused. */
  key: string;
  kind: string;
  name: string;
  source: string;
  error: string;
  fieldErrors: readonly FieldError[];
  /** Store revision when it was refused. */
  revision: number;
}

/** Endpoint-only changes allow an EDS-only push (Istio's incremental EDS path); anything else is config. */
export type ChangeScope = 'endpoints' | 'config';

export interface StoreChange {
  key: ConfigKey;
  kind: string;
  type: 'upsert' | 'delete';
  scope: ChangeScope;
}

const ENDPOINT_KINDS = new Set(['Endpoints', 'EndpointSlice', 'Pod']);

/**
 * The namespace an object is stored under: `''` for a Namespace, else its own or `default`.
 * (Only Namespace is treated as cluster-scoped here; MeshPolicy and the other cluster-scoped Istio kinds are read by
 * kind, so the namespace they are filed under does not matter to Pilot.)
 */
export function storedNamespace(kind: string, namespace: string | undefined): string {
  return kind === 'Namespace' ? '' : (namespace ?? 'default');
}

/** The key an object of `kind` named `name` in `namespace` (as written) is stored under. */
export function storeKey(kind: string, namespace: string | undefined, name: string): ConfigKey {
  return makeKey(kind, storedNamespace(kind, namespace), name);
}

export class ConfigStore {
  private readonly objects = new Map<ConfigKey, StoredObject>();
  private readonly rejections = new Map<string, Rejection>();
  private readonly listeners = new Set<(c: StoreChange) => void>();
  private rev = 0;

  /** Incremented once per effective upsert or delete. */
  get revision(): number {
    return this.rev;
  }

  onChange(fn: (c: StoreChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Stores an object as given (callers validate first: see `applyObject`) and clears any rejection of it.
   * Returns false when the same source already stored the same object (resourceVersion aside).
   */
  upsert(object: MeshObject, source: string): boolean {
    const namespace = storedNamespace(object.kind, object.metadata.namespace);
    const key = makeKey(object.kind, namespace, object.metadata.name);
    this.rejections.delete(key);
    const stored = { ...object, metadata: { ...object.metadata, namespace: namespace || undefined } };
    const prev = this.objects.get(key);
    if (prev && prev.source === source && sameObject(prev.object, stored)) return false;
    this.rev++;
    this.objects.set(key, {
      key,
      kind: object.kind,
      namespace,
      name: object.metadata.name,
      object: stored,
      source,
      revision: this.rev,
    });
    this.emit({ key, kind: object.kind, type: 'upsert', scope: scopeOf(object.kind) });
    return true;
  }

  /** Removes an object and its rejection record; returns whether the object existed. */
  delete(key: ConfigKey): boolean {
    this.rejections.delete(key);
    const prev = this.objects.get(key);
    if (!prev) return false;
    this.rev++;
    this.objects.delete(key);
    this.emit({ key, kind: prev.kind, type: 'delete', scope: scopeOf(prev.kind) });
    return true;
  }

  /** Records a rejected object; the stored (last good) version, if any, is kept. */
  reject(r: Omit<Rejection, 'revision'>): void {
    this.rejections.set(r.key, { ...r, revision: this.rev });
  }

  clearRejection(key: string): void {
    this.rejections.delete(key);
  }

  /** Forgets every rejection recorded for one source (a file about to be applied again, or removed). */
  clearRejectionsFrom(source: string): void {
    for (const [key, r] of this.rejections) if (r.source === source) this.rejections.delete(key);
  }

  get(key: ConfigKey): StoredObject | undefined {
    return this.objects.get(key);
  }

  /** Stored objects (of one kind), sorted by key. */
  list(kind?: string): StoredObject[] {
    const out: StoredObject[] = [];
    for (const o of this.objects.values()) if (!kind || o.kind === kind) out.push(o);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Keys stored from one source (a file), for removing objects that disappeared from it. */
  keysFromSource(source: string): ConfigKey[] {
    const out: ConfigKey[] = [];
    for (const o of this.objects.values()) if (o.source === source) out.push(o.key);
    return out;
  }

  /** Current rejections, for `/debug/configz` and the rejection gauge. */
  listRejections(): Rejection[] {
    return [...this.rejections.values()];
  }

  private emit(c: StoreChange): void {
    for (const fn of this.listeners) fn(c);
  }
}

function scopeOf(kind: string): ChangeScope {
  return ENDPOINT_KINDS.has(kind) ? 'endpoints' : 'config';
}

function sameObject(a: MeshObject, b: MeshObject): boolean {
  const strip = (o: MeshObject) => JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  return strip(a) === strip(b);
}
