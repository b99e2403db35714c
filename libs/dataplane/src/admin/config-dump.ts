/**
 * `/config_dump` in Envoy's admin.v3.ConfigDump JSON shape, so `istioctl proxy-config`-style tools
 * can read it: `configs` holds BootstrapConfigDump, ClustersConfigDump (static_clusters,
 * dynamic_active_clusters, dynamic_warming_clusters), EndpointsConfigDump (with `include_eds`),
 * ListenersConfigDump (static_listeners, dynamic_listeners with active_state/warming_state),
 * RoutesConfigDump (static_route_configs, dynamic_route_configs) and SecretsConfigDump (private
 * keys redacted), in Envoy's order.
 */
import { TYPE_URLS, type Msg, type Snapshot } from '../engine/types';
import type { VersionedResource } from '../xds-client/warming';

export const DUMP_TYPES = {
  bootstrap: 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump',
  clusters: 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
  endpoints: 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump',
  listeners: 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
  routes: 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
  secrets: 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump',
} as const;

/** The dynamic side, as the xDS client knows it (absent for a static-only proxy). */
export interface DynamicState {
  clusterState(): { active: VersionedResource[]; warming: VersionedResource[] };
  listenerState(): { active: VersionedResource[]; warming: VersionedResource[] };
  routeState(): VersionedResource[];
  endpointState(): VersionedResource[];
  secretState?(): VersionedResource[];
  status(): Record<string, { version: string }>;
}

export interface ConfigDumpInput {
  bootstrap: Msg;
  /** Static resources, including inline route configs pulled out of static listeners. */
  staticResources: Snapshot;
  /** When the bootstrap was loaded (epoch ms). */
  loadedAt: number;
  dynamic?: DynamicState;
  includeEds?: boolean;
}

const ts = (ms: number) => new Date(ms).toISOString();
const typed = (type: string, r: Msg): Msg => ({ '@type': type, ...r });

function redactSecret(s: Msg): Msg {
  const out = JSON.parse(JSON.stringify(s)) as Msg;
  const cert = out['tls_certificate'];
  if (cert?.['private_key']) cert['private_key'] = { inline_string: '[redacted]' };
  return typed(TYPE_URLS.secret, out);
}

function withoutPrivateKeys(bootstrap: Msg): Msg {
  const b = JSON.parse(JSON.stringify(bootstrap)) as Msg;
  for (const s of b['static_resources']?.['secrets'] ?? []) {
    if (s['tls_certificate']?.['private_key']) s['tls_certificate']['private_key'] = { inline_string: '[redacted]' };
  }
  return b;
}

export function buildConfigDump(input: ConfigDumpInput): { configs: Msg[] } {
  const { staticResources: st, loadedAt, dynamic } = input;
  const status = dynamic?.status();
  const clusters = dynamic?.clusterState() ?? { active: [], warming: [] };
  const listeners = dynamic?.listenerState() ?? { active: [], warming: [] };
  const configs: Msg[] = [
    { '@type': DUMP_TYPES.bootstrap, bootstrap: withoutPrivateKeys(input.bootstrap), last_updated: ts(loadedAt) },
    {
      '@type': DUMP_TYPES.clusters,
      version_info: status?.['cds']?.version ?? '',
      static_clusters: st.clusters.map((c) => ({ cluster: typed(TYPE_URLS.cluster, c), last_updated: ts(loadedAt) })),
      dynamic_active_clusters: clusters.active.map((c) => ({
        version_info: c.version,
        cluster: typed(TYPE_URLS.cluster, c.resource),
        last_updated: ts(c.lastUpdated),
      })),
      dynamic_warming_clusters: clusters.warming.map((c) => ({
        version_info: c.version,
        cluster: typed(TYPE_URLS.cluster, c.resource),
        last_updated: ts(c.lastUpdated),
      })),
    },
  ];
  if (input.includeEds) {
    configs.push({
      '@type': DUMP_TYPES.endpoints,
      static_endpoint_configs: st.endpoints.map((e) => ({
        endpoint_config: typed(TYPE_URLS.endpoint, e),
        last_updated: ts(loadedAt),
      })),
      dynamic_endpoint_configs: (dynamic?.endpointState() ?? []).map((e) => ({
        version_info: e.version,
        endpoint_config: typed(TYPE_URLS.endpoint, e.resource),
        last_updated: ts(e.lastUpdated),
      })),
    });
  }
  const byName = new Map<string, Msg>();
  for (const l of listeners.active) {
    byName.set(l.name, {
      name: l.name,
      active_state: {
        version_info: l.version,
        listener: typed(TYPE_URLS.listener, l.resource),
        last_updated: ts(l.lastUpdated),
      },
    });
  }
  for (const l of listeners.warming) {
    const entry = byName.get(l.name) ?? { name: l.name };
    entry['warming_state'] = {
      version_info: l.version,
      listener: typed(TYPE_URLS.listener, l.resource),
      last_updated: ts(l.lastUpdated),
    };
    byName.set(l.name, entry);
  }
  configs.push({
    '@type': DUMP_TYPES.listeners,
    version_info: status?.['lds']?.version ?? '',
    static_listeners: st.listeners.map((l) => ({ listener: typed(TYPE_URLS.listener, l), last_updated: ts(loadedAt) })),
    dynamic_listeners: [...byName.values()],
  });
  configs.push({
    '@type': DUMP_TYPES.routes,
    static_route_configs: st.routes.map((r) => ({
      route_config: typed(TYPE_URLS.route, r),
      last_updated: ts(loadedAt),
    })),
    dynamic_route_configs: (dynamic?.routeState() ?? []).map((r) => ({
      version_info: r.version,
      route_config: typed(TYPE_URLS.route, r.resource),
      last_updated: ts(r.lastUpdated),
    })),
  });
  configs.push({
    '@type': DUMP_TYPES.secrets,
    static_secrets: st.secrets.map((s) => ({ name: s['name'], secret: redactSecret(s), last_updated: ts(loadedAt) })),
    dynamic_active_secrets: (dynamic?.secretState?.() ?? []).map((s) => ({
      name: s.name,
      version_info: s.version,
      last_updated: ts(s.lastUpdated),
      secret: redactSecret(s.resource),
    })),
  });
  return { configs };
}
