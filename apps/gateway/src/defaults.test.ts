/**
 * The gateway's defaults without binding anything: admin on 127.0.0.1:15000, Prometheus 15090,
 * readiness 15021, and Gateway servers on ports 80/443 served locally on 127.0.0.1:8080/8443.
 */
import { parseConfig } from '@tsmesh/core';
import { bootstrapFromSettings, emptySnapshot, parsePortMap, prepareSnapshot, type Msg } from '@tsmesh/dataplane';
import { gatewayConfig } from './settings';

const at = (address: string, port: number) => ({ socket_address: { address, port_value: port } });

describe('gateway defaults (no flags, no environment)', () => {
  const { settings } = parseConfig(gatewayConfig, [], {});

  it('serves admin on 127.0.0.1:15000, Prometheus on 15090 and readiness on 15021', () => {
    expect(settings.adminAddress).toBe('127.0.0.1:15000');
    expect(settings.prometheusAddress).toBe('127.0.0.1:15090');
    expect(settings.healthAddress).toBe('127.0.0.1:15021');
    const bootstrap = bootstrapFromSettings('router', settings, {});
    expect(bootstrap.adminAddress).toBe('127.0.0.1:15000');
    expect(bootstrap.node.id).toBe('router~127.0.0.1~istio-ingressgateway.istio-system~istio-system.svc.cluster.local');
  });

  it('serves Gateway listeners for ports 80 and 443 on 127.0.0.1:8080 and 127.0.0.1:8443', () => {
    const portMap = parsePortMap(settings.portMap);
    expect([...portMap]).toEqual([
      [80, '127.0.0.1:8080'],
      [443, '127.0.0.1:8443'],
    ]);
    // What Pilot sends for a gateway with HTTP and HTTPS servers.
    const listeners: Msg[] = [
      { name: '0.0.0.0_80', address: at('0.0.0.0', 80), filter_chains: [] },
      { name: '0.0.0.0_443', address: at('0.0.0.0', 443), filter_chains: [] },
    ];
    const { snapshot, errors } = prepareSnapshot(
      { ...emptySnapshot(), listeners },
      {
        bindings: { portMap },
        nodeId: 'router~127.0.0.1~istio-ingressgateway.istio-system~istio-system.svc.cluster.local',
        defaultSpanKind: 'CLIENT',
        tracing: false,
      },
    );
    expect(errors).toEqual([]);
    const bound = Object.fromEntries(snapshot.listeners.map((l) => [l['name'], l['address']]));
    expect(bound).toEqual({ '0.0.0.0_80': at('127.0.0.1', 8080), '0.0.0.0_443': at('127.0.0.1', 8443) });
  });
});
