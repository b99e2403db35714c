/**
 * Route tables, route matchers and listener filter chains are compiled when a config is pushed,
 * never on the request path. Real requests go through a real listener to real upstreams while
 * probes count compilations:
 * - `RE2JS.compile`: every RE2 regex (route `safe_regex`, header and query `string_match`
 *   `safe_regex`, `regex_rewrite`) goes through it;
 * - the route table's matcher entry points, `compileHeaderMatcher` and `compileQueryMatcher`
 *   (the real functions, wrapped in counting mocks);
 * - a counting HTTP filter in the engine's registry: `parseConfig`/`create` run when a filter
 *   chain's connection manager is built, `parsePerRoute` runs when a RouteConfiguration (here one
 *   `typed_per_filter_config` entry on its virtual host) is compiled, and the per-stream factory
 *   runs once per request (the positive control that requests did cross the chain).
 */
import http from 'node:http';
import { RE2JS } from 're2js';
import { httpRequest } from '@tsmesh/testing';
import type { HttpFilterFactory } from '../filters/types';
import { compileHeaderMatcher, compileQueryMatcher } from '../http/matchers';
import type { Dataplane } from './dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  yamlSnapshot,
  type TestUpstream,
} from './testing';
import { TYPE_URLS, type Msg, type Snapshot } from './types';

jest.mock('../http/matchers', () => {
  const actual = jest.requireActual<typeof import('../http/matchers')>('../http/matchers');
  return {
    ...actual,
    compileHeaderMatcher: jest.fn(actual.compileHeaderMatcher),
    compileQueryMatcher: jest.fn(actual.compileQueryMatcher),
  };
});

const COUNT_FILTER = 'tsmesh.test.compile_count';
const COUNT_TYPE = 'type.googleapis.com/tsmesh.test.CompileCount';

/**
 * `Dataplane.apply` checks and compiles the snapshot in one pass (every RouteConfiguration
 * compiled, every listener built) and the swap installs that same result. A resource object
 * already compiled (by the xDS ACK/NACK check, `validate`, or an earlier application) is not
 * compiled again; an equal but new object is. A listener counts as compiled by an earlier
 * application while it is live with that very object.
 */
const COMPILES_PER_APPLY = 1;
/** What one compilation of ROUTES compiles (regexes: path, header, query parameter, regex_rewrite). */
const PER_ROUTE_TABLE = { routeTables: 1, regexes: 4, headerMatchers: 2, queryMatchers: 1 };
/** What one build of the listener builds (its one filter chain). */
const PER_LISTENER = { chainBuilds: 1, filterFactories: 1 };

const ROUTES = (users: string) => `
name: "9080"
virtual_hosts:
- name: "reviews.default.svc.cluster.local:9080"
  domains: ["reviews", "reviews:9080"]
  routes:
  - name: v2
    match:
      safe_regex: {regex: "/reviews/[0-9]+"}
      headers:
      - name: end-user
        string_match: {safe_regex: {regex: "${users}"}}
      - name: x-canary
        string_match: {exact: "yes"}
      query_parameters:
      - name: format
        string_match: {safe_regex: {regex: "json|xml"}}
    route:
      cluster: v2
      regex_rewrite: {pattern: {regex: "^/reviews/([0-9]+)$"}, substitution: "/v2/reviews/\\\\1"}
  - name: default
    match: {prefix: /}
    route: {cluster: v1}
`;

const scale = <T extends Record<string, number>>(counts: T, n: number): T =>
  Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v * n])) as T;

type Counts = Record<keyof typeof PER_ROUTE_TABLE | keyof typeof PER_LISTENER | 'streams', number>;

describe('compiled per config push, never per request', () => {
  let v1: TestUpstream;
  let v2: TestUpstream;
  let dp: Dataplane;
  let regexSpy: jest.SpiedFunction<typeof RE2JS.compile>;
  const counted = { routeTables: 0, chainBuilds: 0, filterFactories: 0, streams: 0 };

  const countingFilter: HttpFilterFactory<null, null> = {
    name: COUNT_FILTER,
    typeUrls: [COUNT_TYPE],
    parseConfig: () => {
      counted.chainBuilds++;
      return null;
    },
    parsePerRoute: () => {
      counted.routeTables++;
      return null;
    },
    create: () => {
      counted.filterFactories++;
      return () => {
        counted.streams++;
        return {};
      };
    },
  };

  const counts = (): Counts => ({
    ...counted,
    regexes: regexSpy.mock.calls.length,
    headerMatchers: jest.mocked(compileHeaderMatcher).mock.calls.length,
    queryMatchers: jest.mocked(compileQueryMatcher).mock.calls.length,
  });
  const delta = (before: Counts): Counts => {
    const now = counts();
    return Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - before[k as keyof Counts]])) as Counts;
  };
  /** What `routeTables` compilations of ROUTES and `listeners` builds of the listener compile. */
  const compiled = (routeTables: number, listeners: number, streams = 0): Counts => ({
    ...scale(PER_ROUTE_TABLE, routeTables),
    ...scale(PER_LISTENER, listeners),
    streams,
  });
  /** Compilations of `applies` applications of the snapshot. */
  const perApplies = (applies: number): Counts => compiled(applies * COMPILES_PER_APPLY, applies * COMPILES_PER_APPLY);

  /** Listener `l` with the counting filter first, RDS route table "9080", static clusters v1/v2. */
  function snapshot(users = 'jason|alice'): Snapshot {
    const snap = yamlSnapshot({
      listeners: [httpListenerYaml('l', '9080')],
      routes: [ROUTES(users)],
      clusters: [staticClusterYaml('v1', [v1.address]), staticClusterYaml('v2', [v2.address])],
    });
    const hcm = snap.listeners[0]['filter_chains'][0]['filters'][0]['typed_config'] as Msg;
    hcm['http_filters'] = [{ name: COUNT_FILTER, typed_config: { '@type': COUNT_TYPE } }, ...hcm['http_filters']];
    snap.routes[0]['virtual_hosts'][0]['typed_per_filter_config'] = { [COUNT_FILTER]: { '@type': COUNT_TYPE } };
    return snap;
  }

  /**
   * `n` requests alternating between the regex/header/query route (rewritten to /v2/…) and the
   * default route; half on one kept-alive connection, half on a new connection each. Returns the
   * upstream that answered each one.
   */
  async function drive(n: number, user: string): Promise<string[]> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const base = `http://${dp.address('l')}`;
    const answered: string[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const toV2 = i % 2 === 0;
        const res = await httpRequest(`${base}/reviews/${i}?format=${toV2 ? 'json' : 'html'}`, {
          headers: { host: 'reviews:9080', 'end-user': user, 'x-canary': 'yes' },
          agent: i < n / 2 ? agent : undefined,
        });
        expect(res.status).toBe(200);
        answered.push(res.body);
      }
    } finally {
      agent.destroy();
    }
    return answered;
  }

  const alternating = (n: number, matched: string) =>
    Array.from({ length: n }, (_, i) => (i % 2 === 0 ? matched : 'v1'));

  beforeAll(async () => {
    v1 = await startUpstream('v1');
    v2 = await startUpstream('v2');
  });
  afterAll(async () => {
    await v1.close();
    await v2.close();
  });
  beforeEach(() => {
    regexSpy = jest.spyOn(RE2JS, 'compile');
    Object.assign(counted, { routeTables: 0, chainBuilds: 0, filterFactories: 0, streams: 0 });
    dp = testEngine();
    dp.filters.register(countingFilter);
  });
  afterEach(async () => {
    await dp.stop();
    regexSpy.mockRestore();
  });

  it('compiles the route table, its matchers and the filter chain at the push and not for any of 40 requests', async () => {
    const start = counts();
    await dp.apply(snapshot());
    expect(delta(start)).toEqual(perApplies(1));

    const pushed = counts();
    const answered = await drive(40, 'jason');
    // Every request crossed the chain and the regex/header/query matchers chose its route...
    expect(answered).toEqual(alternating(40, 'v2'));
    expect(v2.requests.at(-1)?.url).toBe('/v2/reviews/38?format=json');
    // ...and none of them compiled anything.
    expect(delta(pushed)).toEqual(compiled(0, 0, 40));
  });

  it('a push of a changed RouteConfiguration compiles the new table once per application; requests then use it without compiling', async () => {
    await dp.apply(snapshot('jason|alice'));
    expect(await drive(2, 'bob')).toEqual(['v1', 'v1']);

    const before = counts();
    await dp.apply(snapshot('bob'));
    expect(delta(before)).toEqual(perApplies(1));
    const address = dp.address('l');
    // The listener was built again for the push but its chain did not change: kept as is.
    expect(dp.stats.value('listener_manager.listener_in_place_updated')).toBe(0);

    const pushed = counts();
    expect(await drive(20, 'bob')).toEqual(alternating(20, 'v2'));
    expect(await drive(2, 'jason')).toEqual(['v1', 'v1']);
    expect(delta(pushed)).toEqual(compiled(0, 0, 22));
    expect(dp.address('l')).toBe(address);
  });

  it('an unchanged re-push of new (equal) resource objects is compiled again, still nothing per request', async () => {
    await dp.apply(snapshot());
    const before = counts();
    await dp.apply(snapshot());
    expect(delta(before)).toEqual(perApplies(1));
    expect(dp.stats.value('listener_manager.listener_in_place_updated')).toBe(0);

    const pushed = counts();
    expect(await drive(10, 'alice')).toEqual(alternating(10, 'v2'));
    expect(delta(pushed)).toEqual(compiled(0, 0, 10));
  });

  it('the same resource objects applied again (as an xDS re-apply after a CDS/EDS update) keep their compiled route table and built listener', async () => {
    const snap = snapshot();
    await dp.apply(snap);
    const before = counts();
    await dp.apply(snap);
    // Neither the route table nor the live listener (its chain kept in place) is compiled again.
    expect(delta(before)).toEqual(compiled(0, 0));
    expect(dp.stats.value('listener_manager.listener_in_place_updated')).toBe(0);
    expect(await drive(2, 'alice')).toEqual(alternating(2, 'v2'));
  });

  it('a snapshot with an error is refused whole after one compilation pass; the last good config keeps serving', async () => {
    await dp.apply(snapshot('jason'));
    const bad = snapshot('bob');
    bad.clusters.push(bad.clusters[0]);
    const before = counts();
    await expect(dp.apply(bad)).rejects.toMatchObject({ code: 'DATAPLANE_ERR_INVALID_CONFIG' });
    expect(delta(before)).toEqual(perApplies(1));
    expect(await drive(2, 'bob')).toEqual(['v1', 'v1']);
    expect(await drive(2, 'jason')).toEqual(alternating(2, 'v2'));
  });

  it('over xDS an RDS update is compiled once, by the ACK/NACK check (validate); the application uses that result', async () => {
    await dp.apply(snapshot());
    const next = snapshot('bob');
    const before = counts();
    expect(dp.validate(TYPE_URLS.route, next.routes)).toEqual([]);
    expect(delta(before)).toEqual(compiled(1, 0));
    await dp.apply(next);
    expect(delta(before)).toEqual(compiled(1, COMPILES_PER_APPLY));
  });

  /** `snap` with its listener replaced by an equal new object using HCM stat prefix `prefix`. */
  function withListenerPrefix(snap: Snapshot, prefix: string): Snapshot {
    const l = JSON.parse(JSON.stringify(snap.listeners[0])) as Msg;
    l['filter_chains'][0]['filters'][0]['typed_config']['stat_prefix'] = prefix;
    return { ...snap, listeners: [l] };
  }
  const statNames = () => [...dp.stats.counters(), ...dp.stats.gauges(), ...dp.stats.histograms()].map((s) => s.name);

  it('over xDS an LDS update is built once, by the ACK/NACK check; the application installs that build and its stats', async () => {
    const first = snapshot();
    await dp.apply(first);
    const next = withListenerPrefix(first, 'l_next');
    const before = counts();
    expect(dp.validate(TYPE_URLS.listener, next.listeners)).toEqual([]);
    expect(delta(before)).toEqual(compiled(0, 1));
    // Built, but not applied: none of its stats are listed yet.
    expect(statNames().filter((n) => n.startsWith('http.l_next.'))).toEqual([]);
    await dp.apply(next);
    // One build for the accepted push, the ACK check's.
    expect(delta(before)).toEqual(compiled(0, 1));
    // The chain changed (new stat prefix): replaced in place, and its stats are listed...
    expect(dp.stats.value('listener_manager.listener_in_place_updated')).toBe(1);
    expect(statNames()).toContain('http.l_next.downstream_rq_total');
    const pushed = counts();
    expect(await drive(6, 'alice')).toEqual(alternating(6, 'v2'));
    expect(delta(pushed)).toEqual(compiled(0, 0, 6));
    // ...and they are the ones the requests count on.
    expect(dp.stats.value('http.l_next.downstream_rq_total')).toBe(6);
    expect(dp.stats.value('http.l.downstream_rq_total')).toBe(0);
  });

  it('a built LDS update that a newer one replaced before its application is not applied; the newer build is, once', async () => {
    const first = snapshot();
    await dp.apply(first);
    const stale = withListenerPrefix(first, 'l_stale');
    const next = withListenerPrefix(first, 'l_next');
    const before = counts();
    expect(dp.validate(TYPE_URLS.listener, stale.listeners)).toEqual([]);
    expect(dp.validate(TYPE_URLS.listener, next.listeners)).toEqual([]);
    await dp.apply(next);
    expect(delta(before)).toEqual(compiled(0, 2));
    expect(statNames().filter((n) => n.startsWith('http.l_stale.'))).toEqual([]);
    expect(statNames()).toContain('http.l_next.downstream_rq_total');
  });

  it('a NACKed LDS update is built once and leaves no stats; the previous validated update still applies without a build', async () => {
    const first = snapshot();
    await dp.apply(first);
    const next = withListenerPrefix(first, 'l_next');
    expect(dp.validate(TYPE_URLS.listener, next.listeners)).toEqual([]);
    const bad = withListenerPrefix(first, 'l_bad');
    bad.listeners[0]['filter_chains'][0]['filters'][0]['typed_config']['http_filters'].unshift({
      name: 'no.such.filter',
    });
    const before = counts();
    expect(dp.validate(TYPE_URLS.listener, bad.listeners)).toEqual([
      'listener "l": filter_chains[0].filters[0].typed_config.http_filters[0].name: unknown HTTP filter "no.such.filter"',
    ]);
    expect(delta(before)).toEqual(compiled(0, 1));
    expect(statNames().filter((n) => n.startsWith('http.l_bad.'))).toEqual([]);
    await dp.apply(next);
    expect(delta(before)).toEqual(compiled(0, 1));
    expect(statNames()).toContain('http.l_next.downstream_rq_total');
    expect(await drive(2, 'alice')).toEqual(alternating(2, 'v2'));
  });
});
