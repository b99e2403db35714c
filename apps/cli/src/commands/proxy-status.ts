/**
 * `tsmesh proxy-status [PROXY]` (istioctl proxy-status): one row per proxy connected to Pilot from
 * `/debug/syncz`; with PROXY, what Pilot would send (`/debug/config_dump?proxyID=`) against what
 * the proxy applied (its admin `/config_dump?include_eds`).
 */
import { cliErrors } from '../errors';
import { getJson, table } from './debug-sources';

type Msg = Record<string, unknown>;

/** One type of a `/debug/syncz` row (docs/pilot.md). */
export interface TypeSync {
  subscribed?: string[] | '*';
  sent_version: string | null;
  sent_nonce: string | null;
  acked_version: string | null;
  acked_nonce: string | null;
  resources?: number;
  synced?: boolean;
  last_nack: { version: string; nonce: string; error: string; at?: string } | null;
}

export interface SynczRow {
  proxy: string;
  connection?: string;
  type?: string;
  types: Record<string, TypeSync | undefined>;
}

/** Pilot's versions are `<start time>/<push number>`: compare the numbers as numbers. */
export const newest = (versions: string[]): string | undefined =>
  [...versions].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);

export const XDS_TYPES = ['cds', 'lds', 'eds', 'rds'] as const;
export type XdsType = (typeof XDS_TYPES)[number];

/** `SYNCED`, `STALE`, `NOT SENT` or `NACKED: <error>` for one type of one proxy. */
export function syncState(t: TypeSync | undefined): string {
  if (!t || t.sent_nonce === null || t.sent_nonce === undefined) return 'NOT SENT';
  if (t.last_nack && t.last_nack.nonce === t.sent_nonce) return `NACKED: ${t.last_nack.error}`;
  if (t.acked_nonce === t.sent_nonce && t.acked_version === t.sent_version) return 'SYNCED';
  return 'STALE';
}

/** `pod.namespace` out of a sidecar node id `sidecar~ip~pod.ns~ns.svc.cluster.local`, else the id. */
export function proxyName(id: string): string {
  const parts = id.split('~');
  return parts.length === 4 && parts[2] ? parts[2] : id;
}

export interface StatusRow {
  name: string;
  proxy: string;
  cds: string;
  lds: string;
  eds: string;
  rds: string;
  pilot: string;
  version: string;
}

/** Rows for the table and `--json`; VERSION is the newest config version Pilot sent the proxy. */
export function statusRows(syncz: SynczRow[], pilot: string): StatusRow[] {
  return syncz
    .map((r) => {
      const versions = XDS_TYPES.map((t) => r.types[t]?.sent_version).filter((v): v is string => !!v);
      return {
        name: proxyName(r.proxy),
        proxy: r.proxy,
        cds: syncState(r.types['cds']),
        lds: syncState(r.types['lds']),
        eds: syncState(r.types['eds']),
        rds: syncState(r.types['rds']),
        pilot,
        version: newest(versions) ?? '-',
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function formatStatus(rows: StatusRow[]): string[] {
  return table(
    ['NAME', 'CDS', 'LDS', 'EDS', 'RDS', 'PILOT', 'VERSION'],
    rows.map((r) => [r.name, r.cds, r.lds, r.eds, r.rds, r.pilot, r.version]),
  );
}

/** Does `arg` name this syncz row (full id, `pod.ns`, or pod)? */
export function matchesProxy(row: SynczRow, arg: string): boolean {
  const name = proxyName(row.proxy);
  return row.proxy === arg || name === arg || name.split('.')[0] === arg;
}

export interface TypeComparison {
  type: XdsType;
  match: boolean;
  pilotVersion: string;
  proxyVersion: string;
  pilotResources: number;
  proxyResources: number;
  /** The first differences, one line each (at most 5). */
  differences: string[];
}

const nameOf = (type: XdsType, r: Msg): string => String((type === 'eds' ? r['cluster_name'] : r['name']) ?? '');

interface Applied {
  names: Map<string, string>;
  resources: Map<string, Msg>;
  version: string;
}

/**
 * A resource's JSON with proto3 defaults left out (empty lists, `''`, `0`, `false`, `null`) and
 * keys sorted, without the top-level `@type`: Pilot's dump and the proxy's decoded copy of the
 * same message then print the same.
 */
export function canonical(r: Msg): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (!v || typeof v !== 'object') return v;
    const o: Msg = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Msg)[k];
      if (x === null || x === '' || x === 0 || x === false || (Array.isArray(x) && x.length === 0)) continue;
      o[k] = norm(x);
    }
    return o;
  };
  const { ['@type']: _type, ...rest } = r;
  return JSON.stringify(norm(rest));
}

/** What the proxy applied per type, from Envoy's admin ConfigDump (dynamic resources only). */
export function appliedConfig(dump: { configs?: Msg[] }): Record<XdsType, Applied> {
  const out = Object.fromEntries(
    XDS_TYPES.map((t) => [t, { names: new Map(), resources: new Map(), version: '' }]),
  ) as Record<XdsType, Applied>;
  const add = (t: XdsType, r: Msg | undefined, version: unknown) => {
    if (!r) return;
    out[t].names.set(nameOf(t, r), String(version ?? ''));
    out[t].resources.set(nameOf(t, r), r);
  };
  for (const c of dump.configs ?? []) {
    const kind = String(c['@type'] ?? '')
      .split('.')
      .pop();
    const list = (k: string) => (c[k] as Msg[] | undefined) ?? [];
    if (kind === 'ClustersConfigDump') {
      out.cds.version = String(c['version_info'] ?? '');
      for (const e of list('dynamic_active_clusters')) add('cds', e['cluster'] as Msg, e['version_info']);
    } else if (kind === 'ListenersConfigDump') {
      out.lds.version = String(c['version_info'] ?? '');
      for (const e of list('dynamic_listeners')) {
        const active = e['active_state'] as Msg | undefined;
        if (active) add('lds', active['listener'] as Msg, active['version_info']);
      }
    } else if (kind === 'RoutesConfigDump') {
      for (const e of list('dynamic_route_configs')) add('rds', e['route_config'] as Msg, e['version_info']);
    } else if (kind === 'EndpointsConfigDump') {
      for (const e of list('dynamic_endpoint_configs')) add('eds', e['endpoint_config'] as Msg, e['version_info']);
    }
  }
  for (const t of ['rds', 'eds'] as const) out[t].version = newest([...out[t].names.values()]) ?? '';
  return out;
}

/**
 * Per type: the same resource names on both sides, the same content (see `canonical`), and the
 * proxy holding the version Pilot last sent (from syncz; without a syncz row no version check).
 */
export function compareConfig(
  pilotDump: Partial<Record<XdsType, Msg[]>>,
  proxyDump: { configs?: Msg[] },
  sync: SynczRow | undefined,
): TypeComparison[] {
  const applied = appliedConfig(proxyDump);
  return XDS_TYPES.map((type) => {
    const wanted = new Map((pilotDump[type] ?? []).map((r) => [nameOf(type, r), r]));
    const want = new Set(wanted.keys());
    const have = applied[type].names;
    const differences: string[] = [];
    for (const n of want) if (!have.has(n)) differences.push(`missing on the proxy: ${n}`);
    for (const [n, r] of wanted) {
      const got = applied[type].resources.get(n);
      if (got && canonical(got) !== canonical(r)) differences.push(`content differs: ${n}`);
    }
    for (const n of have.keys()) if (!want.has(n)) differences.push(`only on the proxy: ${n}`);
    const sent = sync?.types[type]?.sent_version ?? '';
    if (sent && applied[type].version !== sent)
      differences.push(`version: Pilot sent ${sent}, the proxy has ${applied[type].version || 'none'}`);
    return {
      type,
      match: differences.length === 0,
      pilotVersion: sent || '-',
      proxyVersion: applied[type].version || '-',
      pilotResources: want.size,
      proxyResources: have.size,
      differences: differences.slice(0, 5),
    };
  });
}

export function formatComparison(proxy: string, cmp: TypeComparison[]): string[] {
  const lines = [`Comparing what Pilot would send ${proxy} with what it has applied:`];
  for (const c of cmp) {
    lines.push(
      `${c.type.toUpperCase()}: ${c.match ? 'MATCH' : 'DIFFERS'} (Pilot ${c.pilotResources} resource(s) version ${c.pilotVersion}; proxy ${c.proxyResources} version ${c.proxyVersion})`,
    );
    for (const d of c.differences) lines.push(`  ${d}`);
  }
  return lines;
}

export interface ProxyStatusOptions {
  pilot: string;
  proxy?: string;
  /** The proxy's admin URL (needed with `proxy`). */
  admin?: () => string;
  json: boolean;
  out: (line: string) => void;
}

/** Exit code: 0 all synced / matching, 1 otherwise (or the proxy is not connected). */
export async function proxyStatus(o: ProxyStatusOptions): Promise<number> {
  const syncz = await getJson<SynczRow[]>(`${o.pilot}/debug/syncz`);
  const pilotHost = new URL(o.pilot).host;
  if (!o.proxy) {
    const rows = statusRows(syncz, pilotHost);
    if (o.json) o.out(JSON.stringify(rows, null, 2));
    else formatStatus(rows).forEach((l) => o.out(l));
    return 0;
  }
  const arg = o.proxy;
  const row = syncz.find((r) => matchesProxy(r, arg));
  const id = row?.proxy ?? arg;
  const pilotDump = await getJson<Partial<Record<XdsType, Msg[]>>>(
    `${o.pilot}/debug/config_dump?proxyID=${encodeURIComponent(id)}`,
  ).catch((e: Error) => {
    if (row) throw e;
    const connected = syncz.map((r) => proxyName(r.proxy)).join(', ') || 'none';
    throw cliErrors.error('CLI_ERR_USAGE', {
      what: `${arg} is not connected to Pilot at ${pilotHost} (connected: ${connected}); give a connected proxy or a full node id`,
    });
  });
  const proxyDump = await getJson<{ configs?: Msg[] }>(`${o.admin?.() ?? ''}/config_dump?include_eds`);
  const cmp = compareConfig(pilotDump, proxyDump, row);
  const ok = !!row && cmp.every((c) => c.match);
  if (o.json) o.out(JSON.stringify({ proxy: id, connected: !!row, match: ok, types: cmp }, null, 2));
  else {
    if (!row) o.out(`${arg} is not connected to Pilot at ${pilotHost}; comparing names only`);
    formatComparison(id, cmp).forEach((l) => o.out(l));
  }
  return ok ? 0 : 1;
}
