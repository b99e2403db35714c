/** Sidecar config pieces shared by the proxy benchmarks (Envoy v3 JSON, as Pilot emits it). */
import type { Msg } from '@tsmesh/dataplane';

export const MIXER_CLUSTER = 'outbound|9091||istio-telemetry.istio-system.svc.cluster.local';

export const addr = (port: number) => ({ socket_address: { address: '127.0.0.1', port_value: port } });
const str = (v: string) => ({ string_value: v });

export function staticCluster(name: string, port: number, extra: Msg = {}): Msg {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: addr(port) } }] }] },
    ...extra,
  };
}

/** The `mixer` filter as Pilot's configgen/mixer/build.ts emits it (policy checks disabled, reports on). */
export function mixerFilter(direction: 'inbound' | 'outbound'): Msg {
  const uid = `kubernetes://bench-${direction === 'inbound' ? 'server' : 'client'}-0.default`;
  const attrs: Msg = { 'context.reporter.uid': str(uid), 'context.reporter.kind': str(direction) };
  if (direction === 'inbound') {
    Object.assign(attrs, {
      'destination.uid': str(uid),
      'destination.namespace': str('default'),
      'destination.ip': { bytes_value: Buffer.from([127, 0, 0, 1]).toString('base64') },
      'destination.port': { int64_value: 8080 },
      'destination.labels': { string_map_value: { entries: { app: 'bench-server', version: 'v1' } } },
    });
  } else {
    Object.assign(attrs, {
      'source.uid': str(uid),
      'source.namespace': str('default'),
      'source.labels': { string_map_value: { entries: { app: 'bench-client', version: 'v1' } } },
    });
  }
  const host = 'bench-server.default.svc.cluster.local';
  return {
    name: 'mixer',
    typed_config: {
      '@type': 'type.googleapis.com/istio.mixer.v1.config.client.HttpClientConfig',
      transport: {
        check_cluster: 'outbound|9091||istio-policy.istio-system.svc.cluster.local',
        report_cluster: MIXER_CLUSTER,
        network_fail_policy: { policy: 'FAIL_OPEN' },
      },
      mixer_attributes: { attributes: attrs },
      ...(direction === 'outbound'
        ? { forward_attributes: { attributes: { 'source.uid': str(uid), 'source.labels': attrs['source.labels'] } } }
        : {}),
      service_configs: {
        [host]: {
          disable_check_calls: true,
          mixer_attributes: {
            attributes: {
              'destination.service.host': str(host),
              'destination.service.name': str('bench-server'),
              'destination.service.namespace': str('default'),
              'destination.service.uid': str('istio://default/services/bench-server'),
              'destination.service': str(host),
            },
          },
        },
      },
      default_destination_service: host,
    },
  };
}
