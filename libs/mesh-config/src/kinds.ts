import type { ConfigObject } from './types/object';
import type { FieldSpec, Issue, Issues } from './schema';

/** What a kind-specific normalizer or checker may report. */
export interface CheckContext {
  error(issue: Issue): void;
  warn(path: string, message: string): void;
}

/**
 * One accepted kind. `schema` describes the document body (every top-level
 * field except apiVersion/kind/metadata), so error paths read as written:
 * `spec.http[0].route`, or `subsets[0].addresses` for spec-less kinds.
 */
export interface KindDef {
  kind: string;
  /** API group; `''` for the Kubernetes core group (`apiVersion: v1`). */
  group: string;
  versions: readonly string[];
  /** Older full apiVersions also accepted (e.g. `extensions/v1beta1` for Deployment). */
  extraApiVersions?: readonly string[];
  clusterScoped?: boolean;
  /** True for kinds without `spec` (Endpoints, EndpointSlice, ConfigMap…): the body is the spec. */
  specless?: boolean;
  schema: FieldSpec;
  /** Rewrites a schema-clean spec into the one normalized shape (may warn). */
  normalize?: (spec: Record<string, unknown>, ctx: CheckContext) => Record<string, unknown>;
  /** Semantic checks on the normalized object (weights, regexes, hosts…). */
  check?: (obj: ConfigObject<Record<string, unknown>>, ctx: CheckContext) => void;
}

/**
 * Extra validation a component adds for a kind (Mixer for its adapter kinds,
 * for example). Runs after the built-in checks on the normalized object;
 * paths are relative to the document (`spec.params.quotas[0]`).
 */
export type KindValidator = (obj: ConfigObject) => Issues | Issue[] | void;

/** The kind registry: a plain map, filled explicitly by `registerBuiltinKinds()` / `registerKind()`. */
export const kindRegistry = new Map<string, KindDef>();

/** Component-added validators, by kind (several per kind allowed). */
export const kindValidators = new Map<string, KindValidator[]>();

export function registerKind(def: KindDef): void {
  kindRegistry.set(def.kind, def);
}

/** Adds a validator for `kind` (e.g. Mixer's `memquota` params check). Returns a function that removes it. */
export function registerKindValidator(kind: string, validator: KindValidator): () => void {
  const list = kindValidators.get(kind) ?? [];
  list.push(validator);
  kindValidators.set(kind, list);
  return () => {
    const cur = kindValidators.get(kind) ?? [];
    kindValidators.set(
      kind,
      cur.filter((v) => v !== validator),
    );
  };
}

export function lookupKind(kind: string): KindDef | undefined {
  return kindRegistry.get(kind);
}

/** `networking.istio.io/v1alpha3` → group + version (core `v1` → group `''`). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf('/');
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function isClusterScoped(kind: string): boolean {
  return kindRegistry.get(kind)?.clusterScoped === true;
}
