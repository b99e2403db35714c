import {
  decodeCheckRequest,
  decodeReportRequest,
  GLOBAL_WORDS,
  MutableBag,
  ReportEncoder,
  type AttributeValue,
  type ReportBag,
  type SlotBag,
} from '@tsmesh/attributes';
import { encodeCheckRequestFromBag } from './check-codec';
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

/** An encoder with `addReport`'s entries for `requests` (each over its own layer). */
function reportOf(requests: Array<[RequestFacts, CompletionFacts, StaticLayer]>): ReportEncoder {
  const enc = new ReportEncoder();
  for (const [f, done, layer] of requests) addReport(enc, f, done, layer);
  return enc;
}

/** An encoder with the same requests written as the bags the Check path builds. */
function reportOfBags(bags: SlotBag[]): ReportEncoder {
  const enc = new ReportEncoder();
  for (const bag of bags) enc.add(bag);
  return enc;
}

/** The ReportRequest bytes of `addReport`'s entries for `requests` (each over its own layer). */
const reported = (requests: Array<[RequestFacts, CompletionFacts, StaticLayer]>) =>
  Buffer.concat(
    reportOf(requests)
      .finish()
      .map((r) => r.bytes),
  );

/** The ReportRequest bytes of the same requests written as the bags the Check path builds. */
const encodedBags = (bags: SlotBag[]) =>
  Buffer.concat(
    reportOfBags(bags)
      .finish()
      .map((r) => r.bytes),
  );

/** The entries of an encoder's ReportRequests as Mixer decodes them: names in order, values, types. */
function decodedEntries(enc: ReportEncoder): Array<Array<[string, unknown, string | undefined]>> {
  return enc
    .finish()
    .flatMap((r) => decodeReportRequest(r.bytes))
    .map((e: ReportBag) => [...e.names()].map((n) => [n, e.get(n), e.typeOf(n)]));
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

  /** The attributes of `request` + cases[0] over `statics`, as Mixer decodes them. */
  const fullEntry: Array<[string, unknown, string]> = [
    ['context.reporter.kind', 'outbound', 'STRING'],
    ['source.ip', new Uint8Array([10, 9, 9, 9]), 'IP_ADDRESS'],
    [
      'request.headers',
      { 'user-agent': 'curl/8', referer: 'http://a/', 'x-request-id': 'r-1', ':path': '/x' },
      'STRING_MAP',
    ],
    ['request.host', 'reviews:9080', 'STRING'],
    ['request.path', '/x', 'STRING'],
    ['request.method', 'GET', 'STRING'],
    ['request.scheme', 'http', 'STRING'],
    ['request.time', new Date(1_700_000_000_123), 'TIMESTAMP'],
    ['request.useragent', 'curl/8', 'STRING'],
    ['request.referer', 'http://a/', 'STRING'],
    ['request.id', 'r-1', 'STRING'],
    ['context.protocol', 'grpc', 'STRING'],
    ['source.port', 40000, 'INT64'],
    ['destination.ip', new Uint8Array([10, 0, 0, 2]), 'IP_ADDRESS'],
    ['destination.port', 9080, 'INT64'],
    ['connection.mtls', true, 'BOOL'],
    ['source.principal', 'cluster.local/ns/default/sa/productpage', 'STRING'],
    ['source.user', 'cluster.local/ns/default/sa/productpage', 'STRING'],
    ['destination.principal', 'cluster.local/ns/default/sa/reviews', 'STRING'],
    ['connection.requested_server_name', 'outbound_.9080_._.reviews.default.svc.cluster.local', 'STRING'],
    ['destination.service.host', 'reviews.default.svc.cluster.local', 'STRING'],
    ['destination.service.name', 'reviews', 'STRING'],
    ['destination.service.namespace', 'default', 'STRING'],
    ['destination.service.uid', 'istio://default/services/reviews', 'STRING'],
    ['response.code', 503, 'INT64'],
    ['response.duration', 7, 'DURATION'],
    ['response.time', new Date(1_700_000_000_130), 'TIMESTAMP'],
    ['request.size', 3, 'INT64'],
    ['request.total_size', 3, 'INT64'],
    ['response.size', 19, 'INT64'],
    ['response.total_size', 19, 'INT64'],
    ['response.headers', { 'content-type': 'text/plain' }, 'STRING_MAP'],
    ['response.grpc_status', '14', 'STRING'],
    ['context.proxy_error_code', 'UF,URX', 'STRING'],
  ];
  const optional = [
    'request.useragent',
    'request.referer',
    'request.id',
    'source.principal',
    'source.user',
    'destination.principal',
    'connection.requested_server_name',
    'destination.service.host',
    'destination.service.name',
    'destination.service.namespace',
    'destination.service.uid',
    'response.headers',
    'response.grpc_status',
    'context.proxy_error_code',
  ];
  const bareRequest = new RequestFacts(
    '',
    { ':path': '/x' },
    'reviews:9080',
    '/x',
    'GET',
    'http',
    true,
    1_700_000_000_123,
    { ...connection, tls: false, peerIdentity: undefined, localIdentity: undefined, sni: undefined },
  );
  const bareDone = new CompletionFacts('inbound|9080||', 503, 7, 1_700_000_000_130, 3, 19, undefined, undefined, '');

  it('the Report entry without a bag and both bag paths decode to the same attributes, with and without the optional ones', () => {
    const requests: Array<[RequestFacts, CompletionFacts]> = [
      [request, cases[0][1]],
      [bareRequest, bareDone],
      [request, bareDone],
      [bareRequest, cases[0][1]],
    ];
    const layers = new StaticLayers();
    const fast = decodedEntries(reportOf(requests.map(([f, done]) => [f, done, layers.entry('', statics)])));
    const added = decodedEntries(
      reportOfBags(requests.map(([f, done]) => addCompletionToRequestBag(bagOfRequest(f, statics, layers), done))),
    );
    const set = decodedEntries(
      reportOfBags(requests.map(([f, done]) => addCompletion(bagOfRequest(f, statics), done))),
    );
    expect(fast).toEqual(added);
    expect(fast).toEqual(set);
    // every attribute a request has, in the order Istio's proxy writes them, and without the optional ones
    expect(fast[0]).toEqual(fullEntry);
    const bareEntry = fullEntry
      .filter(([n]) => !optional.includes(n))
      .map(([n, v, t]) => [n, n === 'request.headers' ? { ':path': '/x' } : n === 'connection.mtls' ? false : v, t]);
    expect(fast[1]).toEqual(bareEntry);
  });

  it('a Check bag carries the times as milliseconds typed TIMESTAMP: Mixer decodes the Date', () => {
    const bag = bagOfRequest(request, statics, new StaticLayers());
    expect(bag.get('request.time')).toBe(1_700_000_000_123);
    expect(bag.typeOf('request.time')).toBe('TIMESTAMP');
    const check = decodeCheckRequest(encodeCheckRequestFromBag(bag, { global_word_count: GLOBAL_WORDS.length })).bag;
    const requestPart = fullEntry.slice(
      0,
      fullEntry.findIndex(([n]) => n === 'destination.service.host'),
    );
    expect([...check.names()].map((n) => [n, check.get(n), check.typeOf(n)])).toEqual(requestPart);
    addCompletion(bag, new CompletionFacts(undefined, 200, 1, 1_700_000_000_124, 0, 0, undefined, undefined, ''));
    expect(bag.get('response.time')).toBe(1_700_000_000_124);
    expect(bag.typeOf('response.time')).toBe('TIMESTAMP');
  });

  // The names a request adds without asking the static layer are found by running the writer:
  // a layer with any of them must give bags that set it again (one name, its static place).
  it.each(fullEntry.map(([n]) => n).filter((n) => n !== 'context.reporter.kind'))(
    'over a shared static layer that has %s: the bag a layer of its own gives, and the same Report bytes',
    (name) => {
      const done = cases[0][1];
      const full = addCompletion(bagOfRequest(request, statics), done);
      const st = [{ ...statics[0], [name]: full.get(name) as AttributeValue }];
      const layers = new StaticLayers();
      const shared = addCompletionToRequestBag(bagOfRequest(request, st, layers), done);
      const own = addCompletion(bagOfRequest(request, st), done);
      expect([...shared.names()]).toEqual([...own.names()]);
      expect(new Set(shared.names()).size).toBe([...own.names()].length);
      expect(shared.toRecord()).toEqual(own.toRecord());
      const layer = layers.entry('', st);
      const fast = reported([
        [request, done, layer],
        [request, done, layer],
      ]);
      expect(fast.equals(encodedBags([own, addCompletion(bagOfRequest(request, st), done)]))).toBe(true);
    },
  );
});
