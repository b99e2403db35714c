import { MutableBag } from '@tsmesh/attributes';
import {
  addCompletion,
  addCompletionToRequestBag,
  addDestinationFromCluster,
  bagOfRequest,
  CompletionFacts,
  reportBag,
  RequestFacts,
  StaticLayers,
} from './request-attributes';

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

  it.each(cases)('reportBag builds the bag the Check path builds: %s', (_, done) => {
    const layers = new StaticLayers();
    const slow = addCompletion(bagOfRequest(request, statics), done);
    const bags = [0, 1].map(() => reportBag(request, done, layers.entry('', statics)));
    for (const bag of bags) {
      expect([...bag.names()]).toEqual([...slow.names()]);
      expect(bag.toRecord()).toEqual(slow.toRecord());
      for (const n of bag.names()) expect(bag.typeOf(n)).toBe(slow.typeOf(n));
      expect(bag.sharedBase()).not.toBeNull();
    }
    // requests of one kind share the names; a change to one bag leaves the other alone
    expect(bags[0].keys).toBe(bags[1].keys);
    bags[0].set('request.path', '/changed').set('check.cache_hit', true);
    expect(bags[1].get('request.path')).toBe('/x');
    expect(bags[1].has('check.cache_hit')).toBe(false);
    expect([...bags[1].names()]).toEqual([...slow.names()]);
  });

  it('reportBag: requests without the optional attributes, and a mix of kinds over one layer', () => {
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
    for (const f of [request, bare, request, bare])
      for (const [, done] of cases) {
        const bag = reportBag(f, done, layers.entry('', statics));
        const slow = addCompletion(bagOfRequest(f, statics), done);
        expect([...bag.names()]).toEqual([...slow.names()]);
        expect(bag.toRecord()).toEqual(slow.toRecord());
        for (const n of bag.names()) expect(bag.typeOf(n)).toBe(slow.typeOf(n));
      }
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
    for (let i = 0; i < 2; i++) {
      const shared = addCompletionToRequestBag(bagOfRequest(request, st, layers), done);
      const report = reportBag(request, done, layers.entry('', st));
      const own = addCompletion(bagOfRequest(request, st), done);
      for (const bag of [shared, report]) {
        expect([...bag.names()]).toEqual([...own.names()]);
        expect(new Set(bag.names()).size).toBe([...bag.names()].length);
        expect(bag.toRecord()).toEqual(own.toRecord());
        expect(bag.sharedBase() === null).toBe(shadowed);
      }
    }
  });
});
