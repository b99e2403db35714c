/**
 * The sidecar's defaults, from flag parsing to where listeners bind, without binding anything:
 * admin on loopback 15000, Prometheus 15090, readiness 15021, outbound capture 15001 and
 * inbound 15006 (Istio's ports), all on 127.0.0.1.
 */
import { parseConfig } from '@tsmesh/core';
import { bootstrapFromSettings, emptySnapshot, parsePortMap, prepareSnapshot, type Msg } from '@tsmesh/dataplane';
import { proxyConfig } from './settings';

const at = (address: string, port: number) => ({ socket_address: { address, port_value: port } });

describe('sidecar defaults (no flags, no environment)', () => {
  const { settings } = parseConfig(proxyConfig, [], {});

  it('serves admin on 127.0.0.1:15000, Prometheus on 15090 and readiness on 15021', () => {
    expect(settings.adminAddress).toBe('127.0.0.1:15000');
    expect(settings.prometheusAddress).toBe('127.0.0.1:15090');
    expect(settings.healthAddress).toBe('127.0.0.1:15021');
  });

  it('generates a bootstrap whose admin is on loopback 15000 and whose xDS cluster is Pilot on 15010', () => {
    const bootstrap = bootstrapFromSettings('sidecar', settings, {});
    expect(bootstrap.adminAddress).toBe('127.0.0.1:15000');
    expect(bootstrap.ads?.address).toBe('127.0.0.1:15010');
    expect(bootstrap.node.id).toBe('sidecar~127.0.0.1~istio-proxy.default~default.svc.cluster.local');
  });

  it('binds the outbound capture listener on 127.0.0.1:15001 and virtualInbound on 127.0.0.1:15006', () => {
    expect(settings.outboundAddress).toBe('127.0.0.1:15001');
    expect(settings.inboundAddress).toBe('127.0.0.1:15006');
    // What Pilot sends for a sidecar: capture listeners on 0.0.0.0, rebound locally by the flags.
    const listeners: Msg[] = [
      { name: 'virtualOutbound', address: at('0.0.0.0', 15001), filter_chains: [] },
      { name: 'virtualInbound', address: at('0.0.0.0', 15006), filter_chains: [] },
    ];
    const { snapshot, errors } = prepareSnapshot(
      { ...emptySnapshot(), listeners },
      {
        bindings: {
          outboundAddress: settings.outboundAddress,
          inboundAddress: settings.inboundAddress,
          portMap: parsePortMap(settings.portMap),
        },
        nodeId: 'sidecar~127.0.0.1~p.default~default.svc.cluster.local',
        defaultSpanKind: 'SERVER',
        tracing: false,
      },
    );
    expect(errors).toEqual([]);
    const bound = Object.fromEntries(snapshot.listeners.map((l) => [l['name'], l['address']]));
    expect(bound).toEqual({ virtualOutbound: at('127.0.0.1', 15001), virtualInbound: at('127.0.0.1', 15006) });
  });
});
