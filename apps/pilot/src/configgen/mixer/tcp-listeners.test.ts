// Pilot's sidecar listeners with the Mixer plugin: TCP chains (inbound and outbound) get the
// TCP `mixer` network filter before tcp_proxy, naming the chain's destination service, and the
// shared (cached) outbound listeners stay free of per-proxy attributes.
import { decode, encode } from '@tsmesh/protocol';
import { BOOKINFO_YAML, contextFrom, productpage, sidecar } from '../../testing/bookinfo';
import { generateListeners } from '../generator';
import type { Msg } from '../names';
import { PluginRegistry } from '../plugins';
import { registerBuiltinPlugins } from '../register';

const MONGO = `apiVersion: v1
kind: Service
metadata: {name: mongodb, namespace: default}
spec:
  clusterIP: 10.96.0.40
  selector: {app: mongodb}
  ports: [{name: tcp-mongo, port: 27017, targetPort: 27017}]
---
apiVersion: v1
kind: Pod
metadata: {name: mongodb-v1-abc, namespace: default, labels: {app: mongodb, version: v1}}
spec:
  serviceAccountName: bookinfo-mongodb
  containers: [{name: mongodb, ports: [{name: tcp, containerPort: 27017}]}]
status: {phase: Running, podIP: 10.1.0.40}
`;

type Cfg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const TCP_TYPE = 'istio.mixer.v1.config.client.TcpClientConfig';
const wire = (f: Msg): Cfg => {
  const { '@type': _t, ...body } = f['typed_config'] as Cfg;
  return decode(TCP_TYPE, encode(TCP_TYPE, body));
};
const chainFilters = (l: Msg) => ((l['filter_chains'] as Msg[])[0]['filters'] as Msg[]).map((f) => f);

describe('TCP mixer filter in generated sidecar listeners', () => {
  const mixerMesh = {
    mixerCheckServer: 'istio-policy.istio-system.svc.cluster.local:9091',
    mixerReportServer: 'istio-telemetry.istio-system.svc.cluster.local:9091',
    disablePolicyChecks: false,
  };
  const plugins = new PluginRegistry();
  registerBuiltinPlugins(plugins);

  it('inbound TCP chain: mixer (checks on, destination = the pod and mongodb) then tcp_proxy', () => {
    const ctx = contextFrom([BOOKINFO_YAML, MONGO], mixerMesh);
    const mongo = sidecar('10.1.0.40', 'mongodb-v1-abc', { app: 'mongodb', version: 'v1' });
    const inbound = generateListeners(mongo, ctx, [], plugins).find((l) => l['name'] === '10.1.0.40_27017') as Msg;
    const filters = chainFilters(inbound);
    expect(filters.map((f) => f['name'])).toEqual(['mixer', 'envoy.filters.network.tcp_proxy']);
    const cfg = wire(filters[0]);
    expect(cfg['disable_check_calls']).toBe(false);
    const a = cfg['mixer_attributes']['attributes'];
    expect(a['context.reporter.kind']['string_value']).toBe('inbound');
    expect(a['destination.service.host']['string_value']).toBe('mongodb.default.svc.cluster.local');
    expect(a['destination.uid']['string_value']).toBe('kubernetes://mongodb-v1-abc.default');
  });

  it("outbound TCP chain: the caller's source attributes and the destination from the chain's cluster", () => {
    const ctx = contextFrom([BOOKINFO_YAML, MONGO], mixerMesh);
    const out = generateListeners(productpage(), ctx, [], plugins).find((l) => l['name'] === '10.96.0.40_27017') as Msg;
    const filters = chainFilters(out);
    expect(filters.map((f) => f['name'])).toEqual(['mixer', 'envoy.filters.network.tcp_proxy']);
    const a = wire(filters[0])['mixer_attributes']['attributes'];
    expect(a['source.uid']['string_value']).toBe('kubernetes://productpage-v1-abc.default');
    expect(a['destination.service.name']['string_value']).toBe('mongodb');
    // another proxy gets its own source.uid: the cached listener was not modified
    const other = sidecar('10.1.0.11', 'details-v1-abc', { app: 'details', version: 'v1' });
    const theirs = generateListeners(other, ctx, [], plugins).find((l) => l['name'] === '10.96.0.40_27017') as Msg;
    expect(wire(chainFilters(theirs)[0])['mixer_attributes']['attributes']['source.uid']['string_value']).toBe(
      'kubernetes://details-v1-abc.default',
    );
    expect(chainFilters(out)).toHaveLength(2);
  });

  it('no Mixer in the mesh: TCP chains are tcp_proxy alone', () => {
    const ctx = contextFrom([BOOKINFO_YAML, MONGO]);
    const out = generateListeners(productpage(), ctx, [], plugins).find((l) => l['name'] === '10.96.0.40_27017') as Msg;
    expect(chainFilters(out).map((f) => f['name'])).toEqual(['envoy.filters.network.tcp_proxy']);
  });
});
