/**
 * What a resource needs before it may go live (Envoy's warming): an EDS
 * cluster waits for its ClusterLoadAssignment, a listener waits for the
 * RouteConfigurations its HTTP connection managers name over RDS.
 */
import { TYPE_URLS, enumName, type Msg } from '../engine/types';

const CLUSTER_TYPES = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'];
const HCM_NAME = 'envoy.filters.network.http_connection_manager';

/** The EDS service name of a cluster, or null when it does not use EDS. */
export function edsServiceName(cluster: Msg): string | null {
  if (enumName(cluster['type'], CLUSTER_TYPES, 'STATIC') !== 'EDS') return null;
  const service = cluster['eds_cluster_config']?.['service_name'];
  return typeof service === 'string' && service !== '' ? service : String(cluster['name'] ?? '');
}

function hcmConfigs(listener: Msg): Msg[] {
  const out: Msg[] = [];
  const chains: Msg[] = [...(listener['filter_chains'] ?? [])];
  if (listener['default_filter_chain']) chains.push(listener['default_filter_chain']);
  for (const chain of chains) {
    for (const filter of chain['filters'] ?? []) {
      const tc = filter['typed_config'];
      if (filter['name'] === HCM_NAME || tc?.['@type'] === TYPE_URLS.hcm) out.push(tc ?? {});
    }
  }
  const api = listener['api_listener']?.['api_listener'];
  if (api?.['@type'] === TYPE_URLS.hcm) out.push(api);
  return out;
}

/** Route configuration names a listener loads over RDS. */
export function rdsRouteNames(listener: Msg): string[] {
  const names: string[] = [];
  for (const hcm of hcmConfigs(listener)) {
    const name = hcm['rds']?.['route_config_name'];
    if (typeof name === 'string' && name !== '' && !names.includes(name)) names.push(name);
  }
  return names;
}

export function resourceName(typeUrl: string, r: Msg): string {
  return String(typeUrl === TYPE_URLS.endpoint ? (r['cluster_name'] ?? '') : (r['name'] ?? ''));
}

/** Walks an object tree collecting SDS secret names configured with an `sds_config` (ADS). */
function collectSds(node: unknown, out: string[]): void {
  if (Array.isArray(node)) {
    for (const n of node) collectSds(n, out);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const o = node as Msg;
  for (const [key, value] of Object.entries(o)) {
    const configs =
      key === 'tls_certificate_sds_secret_configs'
        ? (value as Msg[])
        : key === 'validation_context_sds_secret_config'
          ? [value as Msg]
          : null;
    if (configs) {
      for (const c of configs ?? []) {
        const name = c?.['name'];
        if (typeof name === 'string' && name !== '' && c['sds_config'] && !out.includes(name)) out.push(name);
      }
    } else collectSds(value, out);
  }
}

/**
 * Istio's SDS names for the workload's own identity: served by the proxy's identity provider
 * (Citadel CSR flow or /etc/certs), as the node agent does in Istio, never requested from Pilot.
 */
export const LOCAL_SDS_NAMES: readonly string[] = ['default', 'ROOTCA'];

/** Secret names a listener's or cluster's TLS contexts load over SDS (ADS). */
export function sdsSecretNames(resource: Msg): string[] {
  const out: string[] = [];
  collectSds(resource, out);
  return out.filter((n) => !LOCAL_SDS_NAMES.includes(n));
}
