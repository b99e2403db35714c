/**
 * The config store every registry writes into: Istio config plus Kubernetes
 * Service/Endpoints/Pod/Namespace objects, keyed `Kind/namespace/name`.
 * A rejected object is recorded with its error while the last good version
 * (if any) keeps serving. Listeners hear about every effective change.
 */
import type { FieldError } from '@tsmesh/core';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  creationTimestamp?: string;
}

/** A config object in its YAML/JSON form (Istio CRD or Kubernetes object). */
export interface MeshObject {
  apiVersion?: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  [field: string]: unknown;
}

export interface StoredObject {
  key: string;
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
  key: string;
  kind: string;
  name: string;
  source: string;
  error: string;
  fieldErrors: readonly FieldError[];
  revision: number;
}

export type ChangeKind = 'endpoints' | 'config';

export interface StoreChange {
  key: string;
  kind: string;
  type: 'upsert' | 'delete';
  /** Endpoint-only changes allow an EDS-only push. */
  scope: ChangeKind;
}

/** Kinds whose changes only move endpoints (Istio's incremental EDS path). */
const ENDPOINT_KINDS = new Set(['Endpoints', 'EndpointSlice', 'Pod']);

export function objectKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

export class ConfigStore {
  private readonly objects = new Map<string, StoredObject>();
  private readonly rejections = new Map<string, Rejection>();
  private readonly listeners = new Set<(c: StoreChange) => void>();
  private rev = 0;

  get revision(): number {
    return this.rev;
  }

  onChange(fn: (c: StoreChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Stores a valid object; clears any rejection for it. Returns false when nothing changed. */
  upsert(object: MeshObject, source: string, defaultNamespace = 'default'): boolean {
    const namespace = object.kind === 'Namespace' ? '' : (object.metadata.namespace ?? defaultNamespace);
    const key = objectKey(object.kind, namespace, object.metadata.name);
    this.rejections.delete(key);
    const prev = this.objects.get(key);
    if (prev && prev.source === source && sameObject(prev.object, object)) return false;
    this.rev++;
    const normalized = { ...object, metadata: { ...object.metadata, namespace: namespace || undefined } };
    this.objects.set(key, {
      key,
      kind: object.kind,
      namespace,
      name: object.metadata.name,
      object: normalized,
      source,
      revision: this.rev,
    });
    this.emit({
      key,
      kind: object.kind,
      type: 'upsert',
      scope: ENDPOINT_KINDS.has(object.kind) ? 'endpoints' : 'config',
    });
    return true;
  }

  delete(key: string): boolean {
    this.rejections.delete(key);
    const prev = this.objects.get(key);
    if (!prev) return false;
    this.rev++;
    this.objects.delete(key);
    this.emit({ key, kind: prev.kind, type: 'delete', scope: ENDPOINT_KINDS.has(prev.kind) ? 'endpoints' : 'config' });
    return true;
  }

  /** Records a rejected object; the stored (last good) version, if any, is kept. */
  reject(r: Omit<Rejection, 'revision'>): void {
    this.rejections.set(r.key, { ...r, revision: this.rev });
  }

  clearRejection(key: string): void {
    this.rejections.delete(key);
  }

  get(key: string): StoredObject | undefined {
    return this.objects.get(key);
  }

  list(kind?: string): StoredObject[] {
    const out: StoredObject[] = [];
    for (const o of this.objects.values()) if (!kind || o.kind === kind) out.push(o);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Keys stored from one source (a file), for removing objects that disappeared from it. */
  keysFromSource(source: string): string[] {
    const out: string[] = [];
    for (const o of this.objects.values()) if (o.source === source) out.push(o.key);
    return out;
  }

  listRejections(): Rejection[] {
    return [...this.rejections.values()];
  }

  private emit(c: StoreChange): void {
    for (const fn of this.listeners) fn(c);
  }
}

function sameObject(a: MeshObject, b: MeshObject): boolean {
  const strip = (o: MeshObject) => JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  return strip(a) === strip(b);
}
