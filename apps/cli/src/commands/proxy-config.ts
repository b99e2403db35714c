/**
 * `tsmesh proxy-config clusters|listeners|routes|endpoints PROXY` (istioctl proxy-config): tables
 * from the proxy's admin `/config_dump` (Envoy's admin.v3.ConfigDump) and, for endpoints,
 * `/clusters?format=json` (admin.v3.Clusters with host health).
 */
import { cliErrors } from '../errors';
import { getJson, table } from './debug-sources';

type Msg = Record<string, unknown>;
export const PROXY_CONFIG_KINDS = ['clusters', 'listeners', 'routes', 'endpoints'] as const;
export type ProxyConfigKind = (typeof PROXY_CONFIG_KINDS)[number];

const configsOf = (dump: { configs?: Msg[] }, kind: string): Msg[] =>
  (dump.configs ?? []).filter((c) => String(c['@type'] ?? '').endsWith(`.${kind}`));
const list = (m: Msg | undefined, k: string): Msg[] => (m?.[k] as Msg[] | undefined) ?? [];

/** Istio's cluster name `direction|port|subset|fqdn`; anything else is shown as its own FQDN. */
export function parseClusterName(name: string): { fqdn: string; port: string; subset: string; direction: string } {
  const p = name.split('|');
  if (p.length === 4) return { direction: p[0], port: p[1], subset: p[2] || '-', fqdn: p[3] };
  return { fqdn: name, port: '-', subset: '-', direction: '-' };
}

/** Static and active dynamic clusters, in dump order. */
export function clustersOf(dump: { configs?: Msg[] }): Msg[] {
  const out: Msg[] = [];
  for (const c of configsOf(dump, 'ClustersConfigDump')) {
    for (const e of list(c, 'static_clusters')) out.push(e['cluster'] as Msg);
    for (const e of list(c, 'dynamic_active_clusters')) out.push(e['cluster'] as Msg);
  }
  return out;
}

export function listenersOf(dump: { configs?: Msg[] }): Msg[] {
  const out: Msg[] = [];
  for (const c of configsOf(dump, 'ListenersConfigDump')) {
    for (const e of list(c, 'static_listeners')) out.push(e['listener'] as Msg);
    for (const e of list(c, 'dynamic_listeners'))
      if (e['active_state']) out.push((e['active_state'] as Msg)['listener'] as Msg);
  }
  return out;
}

export function routesOf(dump: { configs?: Msg[] }): Msg[] {
  const out: Msg[] = [];
  for (const c of configsOf(dump, 'RoutesConfigDump')) {
    for (const e of list(c, 'static_route_configs')) out.push(e['route_config'] as Msg);
    for (const e of list(c, 'dynamic_route_configs')) out.push(e['route_config'] as Msg);
  }
  return out;
}

// Envoy's Cluster.DiscoveryType; JSON may carry the enum name or its number. Absent = STATIC (0).
const DISCOVERY = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'];
const clusterType = (c: Msg): string => {
  const t = c['type'];
  if (typeof t === 'number') return DISCOVERY[t] ?? String(t);
  if (typeof t === 'string' && t) return t;
  return c['cluster_type'] ? 'CUSTOM' : 'STATIC';
};

/** istioctl's filters: `--fqdn` (substring), `--port`, `--subset`, `--direction` (clusters); `--cluster`, `--status` (endpoints). */
export interface ProxyConfigFilter {
  fqdn?: string;
  port?: string;
  subset?: string;
  direction?: string;
  cluster?: string;
  status?: string;
}

function clusterMatches(c: Msg, f: ProxyConfigFilter): boolean {
  const n = parseClusterName(String(c['name'] ?? ''));
  return (
    (!f.fqdn || n.fqdn.includes(f.fqdn)) &&
    (!f.port || n.port === f.port) &&
    (!f.subset || n.subset === f.subset) &&
    (!f.direction || n.direction === f.direction)
  );
}

export function clustersTable(dump: { configs?: Msg[] }, filter: ProxyConfigFilter = {}): string[] {
  const rows = clustersOf(dump)
    .filter((c) => clusterMatches(c, filter))
    .map((c) => {
      const n = parseClusterName(String(c['name'] ?? ''));
      return [n.fqdn, n.port, n.subset, n.direction, clusterType(c)];
    });
  return table(['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE'], rows);
}

/** HTTP when any filter chain runs the HTTP connection manager, else TCP. */
function listenerType(l: Msg): string {
  const chains = [
    ...list(l, 'filter_chains'),
    ...(l['default_filter_chain'] ? [l['default_filter_chain'] as Msg] : []),
  ];
  const http = chains.some((fc) =>
    list(fc, 'filters').some((f) => /http_connection_manager/.test(String(f['name'] ?? ''))),
  );
  return http ? 'HTTP' : 'TCP';
}

export function listenersTable(dump: { configs?: Msg[] }): string[] {
  const rows = listenersOf(dump).map((l) => {
    const sa = ((l['address'] as Msg | undefined)?.['socket_address'] as Msg | undefined) ?? {};
    return [String(sa['address'] ?? '-'), String(sa['port_value'] ?? '-'), listenerType(l)];
  });
  return table(['ADDRESS', 'PORT', 'TYPE'], rows);
}

export function routesTable(dump: { configs?: Msg[] }): string[] {
  const rows = routesOf(dump).map((r) => [String(r['name'] ?? ''), String(list(r, 'virtual_hosts').length)]);
  return table(['NAME', 'VIRTUAL HOSTS'], rows);
}

export interface AdminClusters {
  cluster_statuses?: Msg[];
}

/** One row per host of `/clusters?format=json`: HEALTHY, UNHEALTHY, or OUTLIER-EJECTED. */
export function endpointsTable(clusters: AdminClusters, filter: ProxyConfigFilter = {}): string[] {
  const rows: string[][] = [];
  for (const c of clusters.cluster_statuses ?? [])
    for (const h of list(c, 'host_statuses')) {
      if (filter.cluster && c['name'] !== filter.cluster) continue;
      const sa = ((h['address'] as Msg | undefined)?.['socket_address'] as Msg | undefined) ?? {};
      const hs = (h['health_status'] as Msg | undefined) ?? {};
      const status = hs['failed_outlier_check']
        ? 'OUTLIER-EJECTED'
        : String(hs['eds_health_status'] ?? 'HEALTHY') === 'HEALTHY'
          ? 'HEALTHY'
          : 'UNHEALTHY';
      if (filter.status && status !== filter.status.toUpperCase()) continue;
      rows.push([`${sa['address'] ?? '?'}:${sa['port_value'] ?? '?'}`, status, String(c['name'] ?? '')]);
    }
  return table(['ENDPOINT', 'STATUS', 'CLUSTER'], rows);
}

export interface ProxyConfigOptions {
  kind: string;
  admin: string;
  json: boolean;
  filter?: ProxyConfigFilter;
  out: (line: string) => void;
}

export async function proxyConfig(o: ProxyConfigOptions): Promise<number> {
  if (!(PROXY_CONFIG_KINDS as readonly string[]).includes(o.kind))
    throw cliErrors.error('CLI_ERR_USAGE', {
      what: `proxy-config: unknown kind ${o.kind}; one of ${PROXY_CONFIG_KINDS.join(', ')}`,
    });
  const kind = o.kind as ProxyConfigKind;
  if (kind === 'endpoints') {
    const clusters = await getJson<AdminClusters>(`${o.admin}/clusters?format=json`);
    if (o.json) o.out(JSON.stringify(clusters.cluster_statuses ?? [], null, 2));
    else endpointsTable(clusters, o.filter).forEach((l) => o.out(l));
    return 0;
  }
  const dump = await getJson<{ configs?: Msg[] }>(`${o.admin}/config_dump`);
  const filter = o.filter ?? {};
  const pick = {
    clusters: (d: typeof dump) => clustersOf(d).filter((c) => clusterMatches(c, filter)),
    listeners: listenersOf,
    routes: routesOf,
  }[kind];
  const render = {
    clusters: (d: typeof dump) => clustersTable(d, filter),
    listeners: listenersTable,
    routes: routesTable,
  }[kind];
  if (o.json) o.out(JSON.stringify(pick(dump), null, 2));
  else render(dump).forEach((l) => o.out(l));
  return 0;
}
