/**
 * Envoy's `/clusters` and `/listeners` renderings: the text form
 * (`cluster::host:port::cx_active::0`) that scripts grep, and `?format=json`
 * (admin.v3.Clusters / admin.v3.Listeners JSON).
 */
import type { ClusterView, ListenerView } from './types';

const DEFAULT_CB = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };
const HOST_STATS = [
  'cx_active',
  'cx_connect_fail',
  'cx_total',
  'rq_active',
  'rq_error',
  'rq_success',
  'rq_timeout',
  'rq_total',
];

function splitAddress(addr: string): { address: string; port_value: number } {
  const i = addr.lastIndexOf(':');
  return { address: addr.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port_value: Number(addr.slice(i + 1)) };
}

export function renderClustersText(clusters: ClusterView[]): string {
  const lines: string[] = [];
  for (const c of clusters) {
    const n = c.name;
    const cb = c.circuitBreakers ?? DEFAULT_CB;
    lines.push(`${n}::observability_name::${c.observabilityName ?? n}`);
    for (const p of ['default_priority', 'high_priority']) {
      lines.push(`${n}::${p}::max_connections::${cb.maxConnections}`);
      lines.push(`${n}::${p}::max_pending_requests::${cb.maxPendingRequests}`);
      lines.push(`${n}::${p}::max_requests::${cb.maxRequests}`);
      lines.push(`${n}::${p}::max_retries::${cb.maxRetries}`);
    }
    lines.push(`${n}::added_via_api::${c.addedViaApi}`);
    for (const h of c.hosts) {
      const pre = `${n}::${h.address}`;
      for (const s of HOST_STATS) lines.push(`${pre}::${s}::${h.stats[s] ?? 0}`);
      for (const [k, v] of Object.entries(h.stats)) if (!HOST_STATS.includes(k)) lines.push(`${pre}::${k}::${v}`);
      lines.push(`${pre}::hostname::`);
      lines.push(`${pre}::health_flags::${h.health}`);
      lines.push(`${pre}::weight::${h.weight}`);
      lines.push(`${pre}::region::${h.region ?? ''}`);
      lines.push(`${pre}::zone::${h.zone ?? ''}`);
      lines.push(`${pre}::sub_zone::${h.subZone ?? ''}`);
      lines.push(`${pre}::canary::${h.canary ?? false}`);
      lines.push(`${pre}::priority::0`);
      lines.push(`${pre}::success_rate::${h.successRate ?? -1}`);
      lines.push(`${pre}::local_origin_success_rate::-1`);
    }
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}

export function renderClustersJson(clusters: ClusterView[]): object {
  return {
    cluster_statuses: clusters.map((c) => ({
      name: c.name,
      added_via_api: c.addedViaApi,
      host_statuses: c.hosts.map((h) => ({
        address: { socket_address: splitAddress(h.address) },
        stats: Object.entries(h.stats).map(([name, value]) => ({
          name,
          value: String(value),
          ...(name.endsWith('_active') ? { type: 'GAUGE' } : {}),
        })),
        health_status: {
          eds_health_status: h.health.includes('/failed_eds_health') ? 'UNHEALTHY' : 'HEALTHY',
          ...(h.health.includes('/failed_outlier_check') ? { failed_outlier_check: true } : {}),
        },
        weight: h.weight,
        locality: { region: h.region ?? '', zone: h.zone ?? '', sub_zone: h.subZone ?? '' },
      })),
    })),
  };
}

export function renderListenersText(listeners: ListenerView[]): string {
  return listeners.map((l) => `${l.name}::${l.address}\n`).join('');
}

export function renderListenersJson(listeners: ListenerView[]): object {
  return {
    listener_statuses: listeners.map((l) => ({
      name: l.name,
      local_address: { socket_address: splitAddress(l.address) },
    })),
  };
}
