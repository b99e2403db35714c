/**
 * Response flags RL, NR and UH as Envoy's default access log format prints them, on real
 * traffic through a ProxyRuntime (static bootstrap, file access log) in front of a real
 * node:http upstream. The local rate limit buckets refill on the runtime's fake clock.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '@tsmesh/core';
import { httpRequest } from '@tsmesh/testing';
import { parseBootstrap } from '../bootstrap/load';
import { ProxyRuntime } from '../bootstrap/proxy-runtime';
import { registerBuiltinFilters } from '../filters/builtin';
import { startUpstream, until, type TestUpstream } from './testing';

const ALWAYS = '{runtime_key: k, default_value: {numerator: 100, denominator: HUNDRED}}';
const LRL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';

/** An HTTP listener on 127.0.0.1:0 logging to `logPath` in Envoy's default format. */
function listener(name: string, logPath: string, routes: string, filters: string): string {
  return `
  - name: ${name}
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ${name}
          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: ${logPath}
          route_config:
            name: ${name}
            virtual_hosts:
            - name: v
              domains: ["*"]
              routes:${routes}
          http_filters:${filters}
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}`;
}

/** `[START_TIME] "METHOD PATH PROTOCOL" CODE FLAGS RX TX DURATION UPSTREAM_SVC_TIME "XFF" "UA" "REQ_ID" "AUTHORITY" "UPSTREAM_HOST"` */
function defaultFormatLine(method: string, path: string, code: number, flags: string, upstreamHost: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `^\\[\\d{4}-\\d\\d-\\d\\dT[^\\]]+Z\\] "${method} ${esc(path)} HTTP/1\\.1" ${code} ${esc(flags)} \\d+ \\d+ \\d+ \\S+ ` +
      `"-" "[^"]*" "[0-9a-f-]{36}" "127\\.0\\.0\\.1:\\d+" "${esc(upstreamHost)}"$`,
    'm',
  );
}

describe('response flags in the access log on real traffic', () => {
  let dir: string;
  let logPath: string;
  let upstream: TestUpstream;
  let clock: FakeClock;
  let runtime: ProxyRuntime;
  let limited: string;
  let plain: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsmesh-flags-'));
    logPath = join(dir, 'access.log');
    upstream = await startUpstream('up');
    const [host, port] = upstream.address.split(':');
    const rateLimitFilter = `
          - name: envoy.filters.http.local_ratelimit
            typed_config:
              "@type": ${LRL_TYPE}
              stat_prefix: listener_rl
              token_bucket: {max_tokens: 3, tokens_per_fill: 3, fill_interval: 60s}
              filter_enabled: ${ALWAYS}
              filter_enforced: ${ALWAYS}
              response_headers_to_add: [{append: false, header: {key: x-local-rate-limit, value: "true"}}]`;
    const limitedRoutes = `
              - match: {prefix: /route-limited}
                route: {cluster: up}
                typed_per_filter_config:
                  envoy.filters.http.local_ratelimit:
                    "@type": ${LRL_TYPE}
                    stat_prefix: route_rl
                    token_bucket: {max_tokens: 1, fill_interval: 10s}
                    filter_enabled: ${ALWAYS}
                    filter_enforced: ${ALWAYS}
              - match: {prefix: /}
                route: {cluster: up}`;
    const plainRoutes = `
              - match: {prefix: /api}
                route: {cluster: up}
              - match: {prefix: /empty}
                route: {cluster: empty}`;
    const bootstrap = parseBootstrap(`
node: {id: "sidecar~127.0.0.1~flags.default~default.svc.cluster.local", cluster: flags}
static_resources:
  listeners:${listener('limited', logPath, limitedRoutes, rateLimitFilter)}${listener('plain', logPath, plainRoutes, '')}
  clusters:
  - name: up
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: up
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: ${host}, port_value: ${port}}}}}]}]
  - name: empty
    type: STATIC
    connect_timeout: 1s
    load_assignment: {cluster_name: empty, endpoints: []}
`);
    clock = new FakeClock(Date.now());
    runtime = await ProxyRuntime.start({
      bootstrap,
      nodeType: 'sidecar',
      adminAddress: '',
      registerFilters: registerBuiltinFilters,
      clock,
      drainMs: 50,
    });
    limited = `http://${runtime.addresses['limited']}`;
    plain = `http://${runtime.addresses['plain']}`;
  });

  afterAll(async () => {
    await runtime?.stop(50);
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until the access log (flushed on a real-time interval) has a line matching `re`. */
  async function logLine(re: RegExp): Promise<string> {
    let found: RegExpMatchArray | null = null;
    await until(() => {
      let text = '';
      try {
        text = readFileSync(logPath, 'utf8');
      } catch {
        return false;
      }
      found = text.match(re);
      return found !== null;
    });
    return (found as unknown as RegExpMatchArray)[0];
  }

  const stat = (prefix: string, name: string) => runtime.stats.value(`${prefix}.http_local_rate_limit.${name}`);

  it('refuses requests beyond the bucket with 429 local_rate_limited and flag RL, and passes again after a fill', async () => {
    for (let i = 1; i <= 3; i++) expect((await httpRequest(`${limited}/api/${i}`)).status).toBe(200);
    const seen = upstream.requests.length;
    const refused = await httpRequest(`${limited}/api/4`);
    expect([refused.status, refused.body]).toEqual([429, 'local_rate_limited']);
    expect(refused.headers['x-envoy-ratelimited']).toBe('true');
    expect(refused.headers['x-local-rate-limit']).toBe('true');
    expect(upstream.requests.length).toBe(seen);
    await logLine(defaultFormatLine('GET', '/api/4', 429, 'RL', '-'));
    await logLine(defaultFormatLine('GET', '/api/3', 200, '-', upstream.address));
    expect(['enabled', 'ok', 'rate_limited', 'enforced'].map((s) => stat('listener_rl', s))).toEqual([4, 3, 1, 1]);

    clock.advance(60_000);
    expect((await httpRequest(`${limited}/api/5`)).status).toBe(200);
    await logLine(defaultFormatLine('GET', '/api/5', 200, '-', upstream.address));
  });

  it('uses a route’s typed_per_filter_config bucket instead of the listener’s', async () => {
    const before = stat('listener_rl', 'enabled');
    expect((await httpRequest(`${limited}/route-limited/1`)).status).toBe(200);
    const refused = await httpRequest(`${limited}/route-limited/2`);
    expect([refused.status, refused.body]).toEqual([429, 'local_rate_limited']);
    // The listener's response_headers_to_add belong to its config, not the route's.
    expect(refused.headers['x-local-rate-limit']).toBeUndefined();
    await logLine(defaultFormatLine('GET', '/route-limited/2', 429, 'RL', '-'));
    expect(['enabled', 'ok', 'rate_limited', 'enforced'].map((s) => stat('route_rl', s))).toEqual([2, 1, 1, 1]);
    expect(stat('listener_rl', 'enabled')).toBe(before);

    clock.advance(10_000);
    expect((await httpRequest(`${limited}/route-limited/3`)).status).toBe(200);
  });

  it('logs NR for a path no route matches (404)', async () => {
    const r = await httpRequest(`${plain}/nowhere`);
    expect(r.status).toBe(404);
    await logLine(defaultFormatLine('GET', '/nowhere', 404, 'NR', '-'));
  });

  it('logs UH for a cluster without endpoints (503 no healthy upstream)', async () => {
    const r = await httpRequest(`${plain}/empty/x`);
    expect([r.status, r.body]).toEqual([503, 'no healthy upstream']);
    await logLine(defaultFormatLine('GET', '/empty/x', 503, 'UH', '-'));
  });
});
