/**
 * The object model shared by Pilot, Mixer, the injector and the CLI: every
 * Istio and Kubernetes object, as loaded from YAML/JSON or the Kubernetes API.
 */

/** Kubernetes `ObjectMeta`, reduced to what the mesh reads. */
export interface ObjectMeta {
  name: string;
  /** Defaulted to `default` for namespaced kinds; `''` for cluster-scoped kinds (MeshPolicy, Namespace, …). */
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string | null;
  ownerReferences?: unknown[];
  generateName?: string;
}

/** Where an object came from: file and 1-based line of its document. */
export interface SourceRef {
  file: string;
  line: number;
  /** 1-based line of each field path written in the document (`spec.http[1].route[0].weight` → 12). */
  fieldLines?: Record<string, number>;
}

/**
 * One config object. For Kubernetes kinds without a `spec` (Endpoints,
 * EndpointSlice, ConfigMap, Secret, ServiceAccount) `spec` holds the top-level
 * data fields (`{ subsets }`, `{ addressType, endpoints, ports }`, `{ data }`);
 * a Kubernetes `status` is kept in `status`.
 */
export interface ConfigObject<Spec = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: unknown;
  source?: SourceRef;
  /** The object exactly as written (before normalization), for debug output. */
  raw?: unknown;
}

/** `Kind/namespace/name` — the store key (namespace is `''` for cluster-scoped kinds). */
export type ConfigKey = string;

export function key(obj: Pick<ConfigObject, 'kind' | 'metadata'>): ConfigKey {
  return makeKey(obj.kind, obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');
}

export function makeKey(kind: string, namespace: string, name: string): ConfigKey {
  return `${kind}/${namespace}/${name}`;
}

export function parseKey(k: ConfigKey): { kind: string; namespace: string; name: string } {
  const [kind, namespace, ...rest] = k.split('/');
  return { kind, namespace: namespace ?? '', name: rest.join('/') };
}

/** A field error (`@tsmesh/core` FieldError) plus its catalogue code (`MESH_CONFIG_ERR_*`) when it has one. */
export interface ValidationIssue {
  path: string;
  message: string;
  code?: string;
}

export type Severity = 'error' | 'warning';

/** One problem at one place: file, line, object and field path. */
export interface ConfigError {
  file?: string;
  line?: number;
  kind?: string;
  namespace?: string;
  name?: string;
  /** Field path inside the object, e.g. `spec.http[1].route[0].weight`; `''` for the whole document. */
  path: string;
  message: string;
  severity: Severity;
  /** Stable code from the mesh-config catalogue (`MESH_CONFIG_ERR_*`). */
  code?: string;
}

/** `file:line: VirtualService default/reviews: spec.http[1].route[0].weight: weights must sum to 100, got 90` */
export function formatConfigError(e: ConfigError): string {
  const parts: string[] = [];
  if (e.file) parts.push(e.line ? `${e.file}:${e.line}` : e.file);
  if (e.kind || e.name) {
    const ref = e.namespace ? `${e.namespace}/${e.name ?? ''}` : (e.name ?? '');
    parts.push([e.kind, ref].filter((s) => s).join(' '));
  }
  if (e.path) parts.push(e.path);
  const head = parts.join(': ');
  const msg = e.severity === 'warning' ? `warning: ${e.message}` : e.message;
  return head ? `${head}: ${msg}` : msg;
}

/** Several errors as one line each (a NACK `error_detail`, a 400 body, a webhook denial). */
export function formatConfigErrors(errors: readonly ConfigError[]): string {
  return errors.map(formatConfigError).join('\n');
}
