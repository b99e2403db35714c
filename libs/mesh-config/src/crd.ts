import { ensureBuiltinKinds } from './builtin-kinds';
import { kindRegistry } from './kinds';
import type { FieldSpec } from './schema';

/**
 * CustomResourceDefinitions (`apiextensions.k8s.io/v1`) for the Istio kinds,
 * generated from the same field specs the validator uses, so `kubectl apply`
 * checks structure server-side and the mesh's validation checks the rest.
 * Names follow Istio's CRDs (`virtualservices.networking.istio.io`, short
 * names `vs`, `dr`, `gw`, `se`).
 */
export type JsonSchema = Record<string, unknown>;

const SHORT_NAMES: Record<string, string[]> = {
  VirtualService: ['vs'],
  DestinationRule: ['dr'],
  Gateway: ['gw'],
  ServiceEntry: ['se'],
  EnvoyFilter: ['ef'],
  PeerAuthentication: ['pa'],
  RequestAuthentication: ['ra'],
  AuthorizationPolicy: ['ap'],
  WorkloadEntry: ['we'],
  WorkloadGroup: ['wg'],
};

export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (/(s|x|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

/** Structural OpenAPI v3 schema for one field spec. */
export function openApiSchema(spec: FieldSpec): JsonSchema {
  switch (spec.type) {
    case 'string':
      return { type: 'string' };
    case 'bool':
      return { type: 'boolean' };
    case 'int':
    case 'number': {
      const s: JsonSchema = { type: spec.type === 'int' ? 'integer' : 'number' };
      if (spec.min !== undefined) s['minimum'] = spec.min;
      if (spec.max !== undefined) s['maximum'] = spec.max;
      return s;
    }
    case 'duration':
      return { type: 'string' };
    case 'enum':
      // Case-insensitive enums (port protocols) are normalized by the mesh, not refused by the API server.
      return spec.upper ? { type: 'string' } : { type: 'string', enum: [...spec.values] };
    case 'intOrString':
      return { 'x-kubernetes-int-or-string': true };
    case 'list':
      return { type: 'array', items: openApiSchema(spec.of) };
    case 'map':
      return { type: 'object', additionalProperties: openApiSchema(spec.of) };
    case 'any':
      return { 'x-kubernetes-preserve-unknown-fields': true };
    case 'object': {
      const properties: Record<string, JsonSchema> = {};
      for (const [name, f] of Object.entries(spec.fields)) properties[name] = openApiSchema(f);
      const s: JsonSchema = { type: 'object', properties };
      if (spec.open) s['x-kubernetes-preserve-unknown-fields'] = true;
      return s;
    }
  }
}

/** The CRD for one registered Istio kind (first listed version is the storage version). */
export function crdFor(kind: string): JsonSchema {
  ensureBuiltinKinds();
  const def = kindRegistry.get(kind);
  if (!def || !def.group.endsWith('istio.io')) throw new Error(`no CRD for kind ${kind}`);
  const plural = pluralOf(kind);
  const schema = openApiSchema(def.schema);
  const versions = def.versions.map((name, i) => ({
    name,
    served: true,
    storage: i === 0,
    schema: { openAPIV3Schema: schema },
  }));
  const names: JsonSchema = { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() };
  if (SHORT_NAMES[kind]) names['shortNames'] = SHORT_NAMES[kind];
  names['categories'] = ['istio-io', `${def.group.split('.')[0]}-istio-io`];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${def.group}`, labels: { app: 'tsmesh' } },
    spec: {
      group: def.group,
      names,
      scope: def.clusterScoped ? 'Cluster' : 'Namespaced',
      versions,
    },
  };
}

/** CRDs for every Istio kind in the registry, sorted by name. */
export function istioCrds(): JsonSchema[] {
  ensureBuiltinKinds();
  return [...kindRegistry.values()]
    .filter((d) => d.group.endsWith('istio.io'))
    .map((d) => crdFor(d.kind))
    .sort((a, b) => {
      const an = (a['metadata'] as { name: string }).name;
      const bn = (b['metadata'] as { name: string }).name;
      return an < bn ? -1 : an > bn ? 1 : 0;
    });
}
