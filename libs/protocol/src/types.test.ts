import {
  decode,
  encode,
  msToDuration,
  TypeUrl,
  typeNameOf,
  type Cluster,
  type ClusterInput,
  type HttpConnectionManager,
  type Listener,
} from './index';

// The exported types are real (not `any` from a broken generated import): tsc checks the
// expect-error directives below, and the object built with the Input type encodes as expected.
describe('object-form types', () => {
  it('type the object form and catch misspelt fields at compile time', () => {
    const input: ClusterInput = {
      name: 'outbound|9080||reviews.default.svc.cluster.local',
      type: 'EDS',
      connect_timeout: msToDuration(250),
      circuit_breakers: { thresholds: [{ max_requests: { value: 10 } }] },
    };
    // @ts-expect-error misspelt field
    const bad: ClusterInput = { conect_timeout: { seconds: 1 } };
    // @ts-expect-error wrong value type
    const bad2: ClusterInput = { name: 42 };
    void bad;
    void bad2;
    const cluster = decode<Cluster>(typeNameOf(TypeUrl.CLUSTER), encode(typeNameOf(TypeUrl.CLUSTER), input));
    const thresholds: Cluster['circuit_breakers'] = cluster.circuit_breakers;
    expect(thresholds?.thresholds[0].max_requests?.value).toBe(10);
    expect(cluster.connect_timeout).toEqual({ nanos: 250000000 });
    // Any fields are typed as expanded objects
    const listener: Listener = {
      name: 'l',
      filter_chains: [],
      listener_filters: [],
      access_log: [],
      socket_options: [],
      additional_addresses: [],
    } as unknown as Listener;
    const typed = listener.filter_chains[0]?.filters[0]?.typed_config;
    const hcm = typed as unknown as HttpConnectionManager | undefined;
    expect(hcm?.stat_prefix).toBeUndefined();
  });
});
