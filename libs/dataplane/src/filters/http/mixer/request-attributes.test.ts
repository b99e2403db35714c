import { MutableBag, ReportEncoder, type SlotBag } from '@tsmesh/attributes';
import {
  addCompletion,
  addCompletionToRequestBag,
  addDestinationFromCluster,
  bagOfRequest,
  addReport,
  CompletionFacts,
  RequestFacts,
  StaticLayers,
  type StaticLayer,
} from './request-attributes';

/** The ReportRequest bytes of `addReport`'s entries for `requests` (each over its own layer). */
function reported(requests: Array<[RequestFacts, CompletionFacts, StaticLayer]>): Buffer {
  const enc = new ReportEncoder();
  for (const [f, done, layer] of requests) addReport(enc, f, done, layer);
  return Buffer.concat(enc.finish().map((r) => r.bytes));
}

/** The ReportRequest bytes of the same requests written as the bags the Check path builds. */
function encodedBags(bags: SlotBag[]): Buffer {
  const enc = new ReportEncoder();
  for (const bag of bags) enc.add(bag);
  return Buffer.concat(enc.finish().map((r) => r.bytes));
}

describe('addDestinationFromCluster (client-side Report)', () => {
  it("names the destination service from Pilot's outbound cluster", () => {
    const bag = new MutableBag();
    addDestinationFromCluster(bag, 'outbound|9080|v2|reviews.default.svc.cluster.local');
    expect(bag.get('destination.service.host')).toBe('reviews.default.svc.cluster.local');
    expect(bag.get('destination.service.name')).toBe('reviews');
    expect(bag.get('destination.service.namespace')).toBe('default');
    expect(bag.get('destination.service.uid')).toBe('istio://default/services/reviews');
  });

  it('keeps what the service config said, and leaves inbound and non-Istio clusters alone', () => {
    const bag = new MutableBag();
    bag.set('destination.service.host', 'ratings.default.svc.cluster.local');
    addDestinationFromCluster(bag, 'outbound|9080||reviews.default.svc.cluster.local');
    expect(bag.get('destination.service.host')).toBe('ratings.default.svc.cluster.local');
    const other = new MutableBag();
    addDestinationFromCluster(other, 'inbound|9080||reviews.default.svc.cluster.local');
    addDestinationFromCluster(other, 'PassthroughCluster');
    expect(other.has('destination.service.host')).toBe(false);
    const external = new MutableBag();
    addDestinationFromCluster(external, 'outbound|443||www.googleapis.com');
    expect(external.get('destination.service.host')).toBe('www.googleapis.com');
    expect(external.has('destination.service.name')).toBe(false);
  });
});

describe('a Report bag built from facts (Check off)', () => {
  const connection = {
    remoteAddress: '::ffff:10.0.0.1',
    remotePort: 40000,
    localAddress: '10.0.0.2',
    localPort: 9080,
    tls: true,
    peerIdentity: 'spiffe://cluster.local/ns/default/sa/productpage',
    localIdentity: 'spiffe://cluster.local/ns/default/sa/reviews',
    sni: 'outbound_.9080_._.reviews.default.svc.cluster.local',
    getPeerIdentity: () => undefined,
  };
  const request = new RequestFacts(
    '',
    { 'user-agent': 'curl/8', referer: 'http://a/', 'x-request-id': 'r-1', ':path': '/x' },
    'reviews:9080',
    '/x',
    'GET',
    'http',
    true,
    1_700_000_000_123,
    connection,
  );
  const statics = [{ 'context.reporter.kind': 'outbound', 'source.ip': new Uint8Array([10, 9, 9, 9]) }];
  const cases: Array<[string, CompletionFacts]> = [
    [
      'an outbound cluster, flags and a gRPC status',
      new CompletionFacts(
        'outbound|9080|v1|reviews.default.svc.cluster.local',
        503,
        7,
        1_700_000_000_130,
        3,
        19,
        { 'content-type': 'text/plain' },
        14,
        'UF,URX',
      ),
    ],
    [
      'an inbound cluster, no response headers',
      new CompletionFacts('inbound|9080||reviews', 200, 1, 1_700_000_000_124, 0, 5, undefined, undefined, ''),
    ],
    [
      'an external host',
      new CompletionFacts('outbound|443||www.googleapis.com', 200, 1, 1_700_000_000_124, 0, 5, {}, undefined, ''),
    ],
  ];
  it.each(cases)('has the names, order, values and types of the bag the Check path builds: %s', (_, done) => {
    const fast = addCompletionToRequestBag(bagOfRequest(request, statics), done);
    const slow = addCompletion(bagOfRequest(request, statics), done);
    expect([...fast.names()]).toEqual([...slow.names()]);
    expect(fast.toRecord()).toEqual(slow.toRecord());
    for (const n of fast.names()) expect(fast.typeOf(n)).toBe(slow.typeOf(n));
    // the static source.ip wins over the connection's; the base is still shared unchanged
    expect(fast.get('source.ip')).toEqual(new Uint8Array([10, 9, 9, 9]));
    expect(fast.sharedBase()).not.toBeNull();
  });

  it.each(cases)("addReport writes the entries the Check path's bags write: %s", (_, done) => {
    const layers = new StaticLayers();
    const slow = () => addCompletion(bagOfRequest(request, statics), done);
    // the first entry of a request is written in full, the second as a delta over a shared layer
    const layer = layers.entry('', statics);
    const fast = reported([
      [request, done, layer],
      [request, done, layer],
    ]);
    expect(fast.equals(encodedBags([slow(), slow()]))).toBe(true);
  });

  it('addReport: requests without the optional attributes, and a mix of kinds over one layer', () => {
    const bare = new RequestFacts(
      '',
      { ':path': '/y' },
      'reviews:9080',
      '/y',
      'POST',
      'https',
      false,
      1_700_000_000_200,
      { ...connection, tls: false, peerIdentity: undefined, localIdentity: undefined, sni: undefined },
    );
    const layers = new StaticLayers();
    const mix: Array<[RequestFacts, CompletionFacts, StaticLayer]> = [];
    const bags: SlotBag[] = [];
    for (const f of [request, bare, request, bare])
      for (const [, done] of cases) {
        mix.push([f, done, layers.entry('', statics)]);
        bags.push(addCompletion(bagOfRequest(f, statics), done));
      }
    expect(reported(mix).equals(encodedBags(bags))).toBe(true);
  });

  it.each([
    ['none of the names the request sets', statics, false],
    ['request.path and response.code', [...statics, { 'request.path': '/static', 'response.code': 299 }], true],
    ['destination.service.name without the host', [...statics, { 'destination.service.name': 'svc' }], true],
    [
      'destination.service.* with the host',
      [...statics, { 'destination.service.host': 'h', 'destination.service.name': 'svc' }],
      false,
    ],
  ])('over a shared static layer with %s: the same bag as over a layer of its own', (_, st, shadowed) => {
    const layers = new StaticLayers();
    const done = cases[0][1];
    const ownBag = () => addCompletion(bagOfRequest(request, st), done);
    for (let i = 0; i < 2; i++) {
      const shared = addCompletionToRequestBag(bagOfRequest(request, st, layers), done);
      const own = ownBag();
      expect([...shared.names()]).toEqual([...own.names()]);
      expect(new Set(shared.names()).size).toBe([...shared.names()].length);
      expect(shared.toRecord()).toEqual(own.toRecord());
      expect(shared.sharedBase() === null).toBe(shadowed);
    }
    const layer = layers.entry('', st);
    const fast = reported([
      [request, done, layer],
      [request, done, layer],
    ]);
    expect(fast.equals(encodedBags([ownBag(), ownBag()]))).toBe(true);
  });
});
