/** Pilot's Prometheus metrics, with Istio's names (`pilot/pkg/proxy/envoy/v2/monitoring.go`). */
import { counter, createRegistry, gauge, histogram, type Registry } from '@tsmesh/core';

export function createPilotMetrics(registry: Registry = createRegistry()) {
  return {
    registry,
    pushes: counter(registry, 'pilot_xds_pushes', 'xDS responses sent, by type.', ['type']),
    pushErrors: counter(registry, 'pilot_xds_push_errors', 'Pushes that failed (generation or send), by type.', [
      'type',
    ]),
    rejects: counter(registry, 'pilot_total_xds_rejects', 'NACKs received from proxies, by type.', ['type']),
    typeRejects: counter(registry, 'pilot_xds_rejects', 'NACKs by type and node (Istio pilot_xds_<type>_reject).', [
      'type',
      'node',
    ]),
    connected: gauge(registry, 'pilot_xds', 'Connected xDS clients.'),
    convergence: histogram(
      registry,
      'pilot_proxy_convergence_time',
      'Seconds from a config change to the proxy ACKing every type pushed for it.',
      [0.1, 0.5, 1, 3, 5, 10, 20, 30],
    ),
    pushBytes: counter(registry, 'pilot_xds_push_bytes', 'Resource bytes sent, by type.', ['type']),
    fullPushes: counter(registry, 'pilot_xds_full_pushes', 'Debounced pushes, by kind (full or eds).', ['kind']),
    configRejects: gauge(registry, 'pilot_config_rejected', 'Config objects currently rejected.'),
  };
}

export type PilotMetrics = ReturnType<typeof createPilotMetrics>;
