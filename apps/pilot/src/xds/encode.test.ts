import { adsServiceDefinition, lookupType, packAny } from '@tsmesh/protocol';
import { generate } from '../configgen/generator';
import { TYPE, type Msg } from '../configgen/names';
import { buildPushContext } from '../model/push-context';
import { defaultMeshSettings } from '../model/mesh';
import { BOOKINFO_YAML, REVIEWS_DR, productpage, sidecar, storeFrom } from '../testing/bookinfo';
import { passThroughResponses, WireEncoder } from './encode';

const VS = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    fault: {abort: {percentage: {value: 10}, httpStatus: 503}}
    route: [{destination: {host: reviews, subset: v2}}]
    corsPolicy: {allowOrigin: [example.com], allowMethods: [GET]}
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 90}
    - {destination: {host: reviews, subset: v3}, weight: 10}
    retries: {attempts: 3, perTryTimeout: 2s}
`;

const serialize = adsServiceDefinition()['StreamAggregatedResources'].responseSerialize as (v: unknown) => Buffer;

function context(version = 'v1') {
  return buildPushContext(storeFrom(BOOKINFO_YAML, REVIEWS_DR, VS), defaultMeshSettings(), version);
}

describe('WireEncoder', () => {
  it('assembles a RouteConfiguration from cached virtual hosts into the bytes a whole-message encode gives', () => {
    const ctx = context();
    const rc = generate(TYPE.route, productpage(), ctx, ['9080'])?.[0] as Msg;
    expect((rc['virtual_hosts'] as Msg[]).length).toBeGreaterThan(3);
    // per-filter config (Any) inside a route, weighted clusters, retries: all inside the cached host bytes
    expect(JSON.stringify(rc)).toContain('typed_per_filter_config');
    const enc = new WireEncoder('tsmesh-pilot');
    const whole = packAny(TYPE.route, rc).value;
    expect(enc.routeConfiguration(rc).equals(whole)).toBe(true);
    // a changed host among reused ones
    const vhosts = rc['virtual_hosts'] as Msg[];
    const changed = { ...rc, virtual_hosts: [{ ...vhosts[0], name: 'other:9080' }, ...vhosts.slice(1)] };
    expect(enc.routeConfiguration(changed).equals(packAny(TYPE.route, changed).value)).toBe(true);
    expect(enc.pack(TYPE.route, rc).wire.value.equals(whole)).toBe(true);
  });

  it('packs each generated object once', () => {
    const ctx = context();
    const enc = new WireEncoder('tsmesh-pilot');
    const clusters = generate(TYPE.cluster, productpage(), ctx, []) as Msg[];
    const a = enc.pack(TYPE.cluster, clusters[0]);
    expect(enc.pack(TYPE.cluster, clusters[0])).toBe(a);
    expect(a.wire.value.equals(packAny(TYPE.cluster, clusters[0]).value)).toBe(true);
    expect(a.name).toBe(clusters[0]['name']);
  });

  it('encodes a DiscoveryResponse once per content and version, byte for byte what the gRPC serializer writes', () => {
    const ctx = context();
    const enc = new WireEncoder('tsmesh-pilot');
    const eds = generate(TYPE.endpoint, productpage(), ctx, []) as Msg[];
    const packed = eds.map((m) => enc.pack(TYPE.endpoint, m));
    const r1 = enc.response('v1', TYPE.endpoint, packed);
    const expected = serialize({
      version_info: 'v1',
      resources: packed.map((p) => p.wire),
      type_url: TYPE.endpoint,
      nonce: r1.nonce,
      control_plane: { identifier: 'tsmesh-pilot' },
    });
    expect(r1.bytes.equals(expected)).toBe(true);
    const decoded = lookupType('envoy.service.discovery.v3.DiscoveryResponse').decode(r1.bytes).toJSON();
    expect(decoded['resources']).toHaveLength(eds.length);

    // another stream with the same content gets the same bytes
    expect(enc.response('v1', TYPE.endpoint, [...packed])).toBe(r1);
    // the same stream again (its last nonce is the shared one) gets its own nonce, same body
    const again = enc.response('v1', TYPE.endpoint, packed, r1.nonce);
    expect(again.nonce).not.toBe(r1.nonce);
    expect(again.body).toBe(r1.body);
    expect(
      again.bytes.equals(
        serialize({
          version_info: 'v1',
          resources: packed.map((p) => p.wire),
          type_url: TYPE.endpoint,
          nonce: again.nonce,
          control_plane: { identifier: 'tsmesh-pilot' },
        }),
      ),
    ).toBe(true);
    // other content or another version: another response and nonce
    const r2 = enc.response('v1', TYPE.endpoint, packed.slice(1));
    expect(r2.nonce).not.toBe(r1.nonce);
    const r3 = enc.response('v2', TYPE.endpoint, packed);
    expect(r3).not.toBe(r1);
    expect(r3.nonce).not.toBe(r1.nonce);
  });

  it('gives proxies with equal generation inputs one encoding, and others their own', () => {
    const ctx = context();
    const enc = new WireEncoder('tsmesh-pilot');
    const a = generate(TYPE.route, sidecar('10.1.0.20', 'a-1'), ctx, ['9080'])?.[0] as Msg;
    const b = generate(TYPE.route, sidecar('10.1.0.21', 'b-1'), ctx, ['9080'])?.[0] as Msg;
    expect(enc.pack(TYPE.route, b)).toBe(enc.pack(TYPE.route, a));
    const other = generate(TYPE.route, sidecar('10.1.0.22', 'c-1', {}, 'other'), ctx, ['9080'])?.[0] as Msg;
    const po = enc.pack(TYPE.route, other);
    expect(po.wire.value.equals(packAny(TYPE.route, other).value)).toBe(true);
  });

  it('passes pre-encoded responses through the service serializer and still serializes objects', () => {
    const def = passThroughResponses(adsServiceDefinition());
    const method = def['StreamAggregatedResources'];
    const buf = Buffer.from([1, 2, 3]);
    expect(method.responseSerialize(buf)).toBe(buf);
    const obj = { version_info: 'x', type_url: TYPE.cluster, nonce: 'n' };
    expect(method.responseSerialize(obj).equals(serialize(obj))).toBe(true);
    expect(method.requestDeserialize).toBe(adsServiceDefinition()['StreamAggregatedResources'].requestDeserialize);
  });
});
