import { parseNode } from '../model/proxy';
import { BOOKINFO_YAML, REVIEWS_DR, contextFrom, productpage, sidecar } from '../testing/bookinfo';
import { simulate } from '../testing/simulate';
import { generateRoutes } from './generator';
import type { Msg } from './names';

const V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';
const V2 = 'outbound|9080|v2|reviews.default.svc.cluster.local';
const V3 = 'outbound|9080|v3|reviews.default.svc.cluster.local';

function rc9080(docs: string[], proxy = productpage(), mesh = {}): Msg {
  const ctx = contextFrom([BOOKINFO_YAML, REVIEWS_DR, ...docs], mesh);
  const [rc] = generateRoutes(proxy, ctx, ['9080']);
  return rc;
}

const vs = (body: string) => `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
${body}`;

describe('sidecar RDS by simulation', () => {
  it('answers every name a client may use with the default cluster', () => {
    const rc = rc9080([]);
    expect(rc['name']).toBe('9080');
    for (const authority of [
      'reviews',
      'reviews:9080',
      'reviews.default',
      'reviews.default.svc',
      'reviews.default.svc.cluster.local',
      'reviews.default.svc.cluster.local:9080',
      '10.96.0.12',
      '10.96.0.12:9080',
    ]) {
      const r = simulate(rc, { authority, path: '/reviews/0' });
      expect({ authority, cluster: r?.cluster, vh: r?.virtualHost }).toEqual({
        authority,
        cluster: 'outbound|9080||reviews.default.svc.cluster.local',
        vh: 'reviews.default.svc.cluster.local:9080',
      });
    }
  });

  it('routes end-user: jason to v2 and everyone else to v1', () => {
    const rc = rc9080([
      vs(`  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`),
    ]);
    expect(simulate(rc, { authority: 'reviews:9080', headers: { 'end-user': 'jason' } })?.cluster).toBe(V2);
    expect(simulate(rc, { authority: 'reviews:9080', headers: { 'end-user': 'bob' } })?.cluster).toBe(V1);
    expect(simulate(rc, { authority: 'reviews:9080' })?.cluster).toBe(V1);
  });

  it('splits by weight between subsets', () => {
    const rc = rc9080([
      vs(`  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 50}
    - {destination: {host: reviews, subset: v3}, weight: 50}
`),
    ]);
    expect(simulate(rc, { authority: 'reviews' })?.weighted).toEqual([
      { name: V1, weight: 50 },
      { name: V3, weight: 50 },
    ]);
  });

  it('matches uri exact, prefix, regex, method and query parameters', () => {
    const rc = rc9080([
      vs(`  http:
  - match: [{uri: {exact: /exact}}]
    route: [{destination: {host: reviews, subset: v1}}]
  - match: [{uri: {regex: '/r/[0-9]+'}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{uri: {prefix: /api}, method: {exact: POST}}]
    route: [{destination: {host: reviews, subset: v3}}]
  - match: [{queryParams: {beta: {exact: "1"}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`),
    ]);
    expect(simulate(rc, { authority: 'reviews', path: '/exact' })?.cluster).toBe(V1);
    expect(simulate(rc, { authority: 'reviews', path: '/r/12' })?.cluster).toBe(V2);
    expect(simulate(rc, { authority: 'reviews', path: '/r/x' })?.cluster).toBe(V1);
    expect(simulate(rc, { authority: 'reviews', path: '/api/x', method: 'POST' })?.cluster).toBe(V3);
    expect(simulate(rc, { authority: 'reviews', path: '/api/x', method: 'GET' })?.cluster).toBe(V1);
    expect(simulate(rc, { authority: 'reviews', path: '/p?beta=1' })?.cluster).toBe(V2);
  });

  it('evaluates sourceLabels per proxy', () => {
    const docs = [
      vs(`  http:
  - match: [{sourceLabels: {app: productpage, version: v2}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`),
    ];
    const pp2 = sidecar('10.1.0.99', 'productpage-v2-x', { app: 'productpage', version: 'v2' });
    expect(simulate(rc9080(docs, pp2), { authority: 'reviews' })?.cluster).toBe(V2);
    expect(simulate(rc9080(docs, productpage()), { authority: 'reviews' })?.cluster).toBe(V1);
  });

  it('matches sourceLabels for a proxy that sends LABELS as JSON text (ISTIO_META_LABELS)', () => {
    const docs = [
      vs(`  http:
  - match: [{sourceLabels: {app: productpage, version: v2}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`),
    ];
    const id = 'sidecar~10.1.0.98~productpage-v2-y.default~default.svc.cluster.local';
    const asText = parseNode({ id, metadata: { LABELS: '{"app":"productpage","version":"v2"}' } });
    expect(simulate(rc9080(docs, asText), { authority: 'reviews' })?.cluster).toBe(V2);
    const metaJson = parseNode({ id, metadata: { ISTIO_METAJSON_LABELS: '{"app":"productpage","version":"v2"}' } });
    expect(simulate(rc9080(docs, metaJson), { authority: 'reviews' })?.cluster).toBe(V2);
    const junk = parseNode({ id, metadata: { LABELS: '{not json' } });
    expect(simulate(rc9080(docs, junk), { authority: 'reviews' })?.cluster).toBe(V1);
  });

  it('puts fault injection, retries and timeouts on the route', () => {
    const rc = rc9080([
      `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - fault:
      delay: {percent: 10, fixedDelay: 7s}
      abort: {percentage: {value: 0.1}, httpStatus: 500}
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "connect-failure,5xx"}
    timeout: 10s
    route: [{destination: {host: ratings}}]
`,
    ]);
    const r = simulate(rc, { authority: 'ratings:9080' });
    expect(r?.cluster).toBe('outbound|9080||ratings.default.svc.cluster.local');
    const action = r?.route['route'] as Msg;
    expect(action['timeout']).toEqual({ seconds: 10, nanos: 0 });
    expect(action['retry_policy']).toEqual({
      retry_on: 'connect-failure,5xx',
      num_retries: { value: 3 },
      per_try_timeout: { seconds: 2, nanos: 0 },
    });
    const fault = (r?.route['typed_per_filter_config'] as Msg)['envoy.filters.http.fault'] as Msg;
    expect(fault['delay']).toEqual({
      fixed_delay: { seconds: 7, nanos: 0 },
      percentage: { numerator: 10, denominator: 'HUNDRED' },
    });
    expect(fault['abort']).toEqual({ http_status: 500, percentage: { numerator: 1000, denominator: 'MILLION' } });
  });

  it('uses Istio 1.0 defaults: timeout disabled, no retry policy, default retryOn when attempts given', () => {
    const rc = rc9080([
      vs(`  http:\n  - retries: {attempts: 2}\n    route: [{destination: {host: reviews, subset: v1}}]\n`),
    ]);
    const action = simulate(rc, { authority: 'reviews' })?.route['route'] as Msg;
    expect(action['timeout']).toEqual({ seconds: 0, nanos: 0 });
    expect((action['retry_policy'] as Msg)['retry_on']).toBe('5xx,connect-failure,refused-stream');
    const plain = simulate(rc9080([]), { authority: 'ratings' })?.route['route'] as Msg;
    expect(plain['retry_policy']).toBeUndefined();
  });

  it('translates redirect, rewrite, mirror, cors and header edits', () => {
    const rc = rc9080([
      vs(`  http:
  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, authority: reviews.example}
  - match: [{uri: {prefix: /v1}}]
    rewrite: {uri: /, authority: reviews-internal}
    route: [{destination: {host: reviews, subset: v1}}]
    mirror: {host: reviews, subset: v3}
    mirrorPercentage: {value: 25}
    corsPolicy: {allowOrigin: [https://a.example], allowMethods: [GET, POST], maxAge: 24h, allowCredentials: true}
    headers:
      request: {set: {x-a: "1"}, remove: [x-b]}
      response: {add: {x-c: "2"}}
  - route: [{destination: {host: reviews, subset: v1}}]
`),
    ]);
    expect(simulate(rc, { authority: 'reviews', path: '/old/x' })?.redirect).toEqual({
      path_redirect: '/new',
      host_redirect: 'reviews.example',
    });
    const r = simulate(rc, { authority: 'reviews', path: '/v1/x' });
    const action = r?.route['route'] as Msg;
    expect(action['prefix_rewrite']).toBe('/');
    expect(action['host_rewrite_literal']).toBe('reviews-internal');
    expect(action['request_mirror_policies']).toEqual([
      { cluster: V3, runtime_fraction: { default_value: { numerator: 250000, denominator: 'MILLION' } } },
    ]);
    const cors = (r?.route['typed_per_filter_config'] as Msg)['envoy.filters.http.cors'] as Msg;
    expect(cors['allow_origin_string_match']).toEqual([{ exact: 'https://a.example' }]);
    expect(cors['allow_methods']).toBe('GET,POST');
    expect(cors['max_age']).toBe('86400');
    expect(r?.route['request_headers_to_add']).toEqual([
      { header: { key: 'x-a', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ]);
    expect(r?.route['request_headers_to_remove']).toEqual(['x-b']);
    expect(r?.route['response_headers_to_add']).toEqual([
      { header: { key: 'x-c', value: '2' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
  });

  it('merges several VirtualServices for one host, catch-all routes last', () => {
    const a = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: a, creationTimestamp: "2020-01-01T00:00:00Z"}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: v1}}]}]
`;
    const b = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: b, creationTimestamp: "2020-01-02T00:00:00Z"}
spec:
  hosts: [reviews.default.svc.cluster.local]
  http: [{match: [{uri: {prefix: /beta}}], route: [{destination: {host: reviews, subset: v3}}]}]
`;
    const rc = rc9080([a, b]);
    expect(simulate(rc, { authority: 'reviews', path: '/beta/1' })?.cluster).toBe(V3);
    expect(simulate(rc, { authority: 'reviews', path: '/other' })?.cluster).toBe(V1);
  });

  it('inlines delegate VirtualServices', () => {
    const root = vs(`  http:
  - match: [{uri: {prefix: /r}}]
    delegate: {name: reviews-delegate, namespace: default}
`);
    const child = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews-delegate}
spec:
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`;
    const rc = rc9080([root, child]);
    expect(simulate(rc, { authority: 'reviews', path: '/r/1', headers: { 'end-user': 'jason' } })?.cluster).toBe(V2);
    expect(simulate(rc, { authority: 'reviews', path: '/r/1' })?.cluster).toBe(V1);
    expect(simulate(rc, { authority: 'reviews', path: '/x' })).toBeUndefined();
  });

  it('sends unknown hosts to PassthroughCluster (ALLOW_ANY) or BlackHoleCluster (REGISTRY_ONLY)', () => {
    expect(simulate(rc9080([]), { authority: 'example.com' })?.cluster).toBe('PassthroughCluster');
    const blocked = rc9080([], productpage(), { outboundTrafficPolicy: 'REGISTRY_ONLY' });
    expect(simulate(blocked, { authority: 'example.com' })?.cluster).toBe('BlackHoleCluster');
  });

  it('drops matches for another port and hashes on the DR consistentHash header', () => {
    const rc = rc9080([
      vs(`  http:
  - match: [{port: 9999}]
    route: [{destination: {host: reviews, subset: v3}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`),
      `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: ratings}
spec:
  host: ratings
  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}
`,
    ]);
    expect(simulate(rc, { authority: 'reviews' })?.cluster).toBe(V1);
    const action = simulate(rc, { authority: 'ratings' })?.route['route'] as Msg;
    expect(action['hash_policy']).toEqual([{ header: { header_name: 'x-user' } }]);
  });
});
