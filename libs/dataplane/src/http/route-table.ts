/**
 * RouteConfiguration compiled once per push (envoy.config.route.v3): virtual hosts found by
 * domain (exact, then longest `*.suffix`, then longest `prefix.*`, then `*`; tried with the port
 * and then without), routes matched in order. Everything a request needs is precomputed here.
 */
import { parseDuration, type FieldError } from '@tsmesh/core';
import type { RE2JS } from 're2js';
import { enumName, wrapped, type Msg } from '../engine/types';
import { parseBufferLimit } from '../listeners/socket-helpers';
import { compileHeaderMatcher, compileQueryMatcher, compileRegex } from './matchers';
import { compileHeaderOps, mergeHeaderOps, type HeaderOps } from './header-ops';
import { compileRetryPolicy, type RetryPolicy } from './retry-policy';

export interface RouteRequest {
  method: string;
  /** Normalized path without the query. */
  path: string;
  /** Raw query string without `?` ('' when none). */
  query: string;
  authority: string;
  scheme: string;
  header(name: string): string | undefined;
}

export interface WeightedCluster {
  name: string;
  weight: number;
  headerOps: HeaderOps;
}

export interface HashPolicy {
  kind: 'header' | 'cookie' | 'source_ip' | 'query';
  name: string;
  terminal: boolean;
}

export interface MirrorPolicy {
  cluster: string;
  /** Probability in [0,1]. */
  fraction: number;
}

export interface RedirectAction {
  scheme?: string;
  host?: string;
  port?: number;
  path?: string;
  prefixRewrite?: string;
  status: number;
  stripQuery: boolean;
}

/** Parses one `typed_per_filter_config` entry with the filter registry (engine-supplied). */
export type PerFilterParser = (filterName: string, typed: Msg, path: string, errors: FieldError[]) => unknown;

export interface RouteEntry {
  readonly name: string;
  readonly vhostName: string;
  readonly matches: (r: RouteRequest) => boolean;
  readonly kind: 'cluster' | 'weighted' | 'cluster_header' | 'redirect' | 'direct';
  readonly cluster?: string;
  readonly weighted?: { clusters: WeightedCluster[]; total: number };
  readonly clusterHeader?: string;
  /** The literal prefix the route matched on, for prefix_rewrite. */
  readonly matchPrefix?: string;
  readonly prefixRewrite?: string;
  readonly regexRewrite?: { re: RE2JS; substitution: string };
  readonly hostRewrite?: string;
  /** `auto_host_rewrite`: the chosen endpoint's hostname (DNS name or endpoint `hostname`) becomes the authority. */
  readonly autoHostRewrite?: boolean;
  /** `append_x_forwarded_host`: a host rewrite appends the original authority to x-forwarded-host. */
  readonly appendXForwardedHost?: boolean;
  readonly timeoutMs: number;
  /** `idle_timeout`: replaces the HCM `stream_idle_timeout` on this route (0 = none); unset: the HCM's. */
  readonly idleTimeoutMs?: number;
  readonly maxGrpcTimeoutMs?: number;
  readonly retryPolicy: RetryPolicy | null;
  readonly mirrors: readonly MirrorPolicy[];
  readonly hashPolicies: readonly HashPolicy[];
  readonly headerOps: HeaderOps;
  readonly redirect?: RedirectAction;
  readonly direct?: { status: number; body: string };
  /** Parsed per-filter config: route, else virtual host, else route configuration. */
  readonly perFilter: ReadonlyMap<string, unknown>;
  readonly decoratorOperation?: string;
  /**
   * `per_request_buffer_limit_bytes` of the route, else of its virtual host: caps the bytes kept
   * for retries and mirrors below the listener's limit (the smaller wins, as in Envoy; 0 = keep
   * nothing). Unset on both: the listener's limit alone.
   */
  readonly bufferLimitBytes?: number;
}

export interface VirtualHost {
  readonly name: string;
  readonly routes: readonly RouteEntry[];
}

export interface CompiledRouteConfig {
  readonly name: string;
  findVirtualHost(authority: string): VirtualHost | null;
  route(r: RouteRequest): RouteEntry | null;
  readonly virtualHosts: readonly VirtualHost[];
}

/** Envoy's default route timeout. */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15000;

const REDIRECT_CODES = ['MOVED_PERMANENTLY', 'FOUND', 'SEE_OTHER', 'TEMPORARY_REDIRECT', 'PERMANENT_REDIRECT'];
const REDIRECT_STATUS: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

function parsePerFilterMap(
  m: Msg | undefined,
  path: string,
  errors: FieldError[],
  parse: PerFilterParser,
  into: Map<string, unknown>,
): void {
  if (!m) return;
  for (const [name, typed] of Object.entries(m)) {
    into.set(name, parse(name, typed as Msg, `${path}.typed_per_filter_config["${name}"]`, errors));
  }
}

function compileMatch(
  m: Msg | undefined,
  path: string,
  errors: FieldError[],
): {
  test: (r: RouteRequest) => boolean;
  prefix?: string;
} {
  if (!m) {
    errors.push({ path, message: 'match is required' });
    return { test: () => false };
  }
  const caseSensitive = wrapped(m['case_sensitive'], true);
  let pathTest: (p: string) => boolean;
  let prefix: string | undefined;
  if (typeof m['prefix'] === 'string') {
    prefix = m['prefix'];
    const want = caseSensitive ? m['prefix'] : m['prefix'].toLowerCase();
    pathTest = caseSensitive ? (p) => p.startsWith(want) : (p) => p.toLowerCase().startsWith(want);
  } else if (typeof m['path'] === 'string') {
    const want = caseSensitive ? m['path'] : m['path'].toLowerCase();
    pathTest = caseSensitive ? (p) => p === want : (p) => p.toLowerCase() === want;
  } else if (typeof m['path_separated_prefix'] === 'string') {
    prefix = m['path_separated_prefix'];
    const want = m['path_separated_prefix'];
    pathTest = (p) => p === want || p.startsWith(want + '/');
  } else if (m['safe_regex']) {
    const re = compileRegex(m['safe_regex']['regex'], `${path}.safe_regex.regex`, errors);
    pathTest = (p) => re !== null && re.matches(p);
  } else if (m['connect_matcher']) {
    pathTest = () => true;
  } else {
    errors.push({ path, message: 'match needs one of prefix, path, safe_regex, path_separated_prefix' });
    pathTest = () => false;
  }
  const headers = ((m['headers'] as Msg[] | undefined) ?? []).map((h, i) =>
    compileHeaderMatcher(h, `${path}.headers[${i}]`, errors),
  );
  const queries = ((m['query_parameters'] as Msg[] | undefined) ?? []).map((q, i) =>
    compileQueryMatcher(q, `${path}.query_parameters[${i}]`, errors),
  );
  const connectOnly = !!m['connect_matcher'];
  const grpcOnly = !!m['grpc'];
  const test = (r: RouteRequest): boolean => {
    if (connectOnly !== (r.method === 'CONNECT')) return false;
    if (!pathTest(r.path)) return false;
    if (grpcOnly && !(r.header('content-type') ?? '').startsWith('application/grpc')) return false;
    if (headers.length > 0) {
      const get = (n: string) => r.header(n);
      for (let i = 0; i < headers.length; i++) if (!headers[i](get)) return false;
    }
    if (queries.length > 0) {
      const q = r.query ? new URLSearchParams(r.query) : null;
      for (let i = 0; i < queries.length; i++) if (!queries[i](q)) return false;
    }
    return true;
  };
  return { test, prefix };
}

function compileRoute(
  rt: Msg,
  path: string,
  vhostName: string,
  inherited: {
    headerOps: HeaderOps;
    retry: Msg | undefined;
    perFilter: Map<string, unknown>;
    bufferLimitBytes: number | undefined;
  },
  errors: FieldError[],
  parse: PerFilterParser,
): RouteEntry {
  const match = compileMatch(rt['match'], `${path}.match`, errors);
  const perFilter = new Map(inherited.perFilter);
  parsePerFilterMap(rt['typed_per_filter_config'], path, errors, parse, perFilter);
  const headerOps = mergeHeaderOps(inherited.headerOps, compileHeaderOps(rt, path, errors));
  const base = {
    name: String(rt['name'] ?? ''),
    vhostName,
    matches: match.test,
    matchPrefix: match.prefix,
    headerOps,
    perFilter,
    timeoutMs: DEFAULT_ROUTE_TIMEOUT_MS,
    retryPolicy: null,
    mirrors: [] as MirrorPolicy[],
    hashPolicies: [] as HashPolicy[],
    decoratorOperation: rt['decorator']?.['operation'] as string | undefined,
    bufferLimitBytes:
      parseBufferLimit(rt['per_request_buffer_limit_bytes'], `${path}.per_request_buffer_limit_bytes`, errors) ??
      inherited.bufferLimitBytes,
  };
  if (rt['redirect']) {
    const r = rt['redirect'] as Msg;
    const code = enumName(r['response_code'], REDIRECT_CODES, 'MOVED_PERMANENTLY');
    return {
      ...base,
      kind: 'redirect',
      redirect: {
        scheme: r['https_redirect'] ? 'https' : (r['scheme_redirect'] as string | undefined) || undefined,
        host: (r['host_redirect'] as string | undefined) || undefined,
        port: r['port_redirect'] ? Number(r['port_redirect']) : undefined,
        path: (r['path_redirect'] as string | undefined) || undefined,
        prefixRewrite: r['prefix_rewrite'] as string | undefined,
        status: REDIRECT_STATUS[code] ?? 301,
        stripQuery: r['strip_query'] === true,
      },
    };
  }
  if (rt['direct_response']) {
    const d = rt['direct_response'] as Msg;
    const status = Number(d['status'] ?? 0);
    if (status < 200 || status > 599)
      errors.push({ path: `${path}.direct_response.status`, message: 'must be 200..599' });
    return { ...base, kind: 'direct', direct: { status, body: String(d['body']?.['inline_string'] ?? '') } };
  }
  const a = rt['route'] as Msg | undefined;
  if (!a) {
    errors.push({ path, message: 'route needs one of route, redirect, direct_response' });
    return { ...base, kind: 'direct', direct: { status: 404, body: '' } };
  }
  const ap = `${path}.route`;
  let kind: RouteEntry['kind'] = 'cluster';
  let weighted: RouteEntry['weighted'];
  if (a['weighted_clusters']) {
    kind = 'weighted';
    const list = ((a['weighted_clusters']['clusters'] as Msg[] | undefined) ?? []).map((c, i) => ({
      name: String(c['name'] ?? ''),
      weight: Number(wrapped(c['weight'], 0)),
      headerOps: compileHeaderOps(c, `${ap}.weighted_clusters.clusters[${i}]`, errors),
    }));
    if (list.length === 0) errors.push({ path: `${ap}.weighted_clusters.clusters`, message: 'at least one cluster' });
    list.forEach((c, i) => {
      if (!c.name)
        errors.push({ path: `${ap}.weighted_clusters.clusters[${i}].name`, message: 'cluster name is required' });
    });
    const sum = list.reduce((s, c) => s + c.weight, 0);
    const total = Number(wrapped(a['weighted_clusters']['total_weight'], sum));
    if (sum !== total || total <= 0) {
      errors.push({ path: `${ap}.weighted_clusters`, message: `weights sum to ${sum}, expected ${total} (> 0)` });
    }
    weighted = { clusters: list, total: sum };
  } else if (a['cluster_header']) {
    kind = 'cluster_header';
  } else if (!a['cluster']) {
    errors.push({ path: `${ap}.cluster`, message: 'one of cluster, weighted_clusters, cluster_header is required' });
  }
  let regexRewrite: RouteEntry['regexRewrite'];
  if (a['regex_rewrite']) {
    const re = compileRegex(a['regex_rewrite']['pattern']?.['regex'], `${ap}.regex_rewrite.pattern.regex`, errors);
    // Envoy writes capture groups as \1; re2js takes $1.
    const substitution = String(a['regex_rewrite']['substitution'] ?? '').replace(/\\(\d)/g, '$$$1');
    if (re) regexRewrite = { re, substitution };
  }
  const timeout = a['timeout'] === undefined ? DEFAULT_ROUTE_TIMEOUT_MS : parseDuration(a['timeout']);
  if (timeout === null) errors.push({ path: `${ap}.timeout`, message: 'invalid duration' });
  const idle = a['idle_timeout'] === undefined ? undefined : parseDuration(a['idle_timeout']);
  if (idle === null) errors.push({ path: `${ap}.idle_timeout`, message: 'invalid duration' });
  const maxGrpc = a['max_grpc_timeout'] === undefined ? undefined : (parseDuration(a['max_grpc_timeout']) ?? undefined);
  const retryMsg = (a['retry_policy'] as Msg | undefined) ?? inherited.retry;
  if (a['cors']) {
    // Route-level `cors` (Istio 1.0's corsPolicy) is the CORS filter's per-route config.
    const cors = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy', ...a['cors'] };
    perFilter.set('envoy.filters.http.cors', parse('envoy.filters.http.cors', cors, `${ap}.cors`, errors));
  }
  const mirrorList: Msg[] = [
    ...((a['request_mirror_policies'] as Msg[] | undefined) ?? []),
    ...(a['request_mirror_policy'] ? [a['request_mirror_policy'] as Msg] : []),
  ];
  const mirrors = mirrorList.map((m, i) => {
    if (!m['cluster'])
      errors.push({ path: `${ap}.request_mirror_policies[${i}].cluster`, message: 'cluster is required' });
    return { cluster: String(m['cluster'] ?? ''), fraction: fractionOf(m['runtime_fraction']?.['default_value']) };
  });
  const hashPolicies: HashPolicy[] = ((a['hash_policy'] as Msg[] | undefined) ?? []).map((h, i) => {
    const terminal = h['terminal'] === true;
    if (h['header']) return { kind: 'header', name: String(h['header']['header_name']).toLowerCase(), terminal };
    if (h['cookie']) return { kind: 'cookie', name: String(h['cookie']['name']), terminal };
    if (h['connection_properties']) return { kind: 'source_ip', name: '', terminal };
    if (h['query_parameter']) return { kind: 'query', name: String(h['query_parameter']['name']), terminal };
    errors.push({
      path: `${ap}.hash_policy[${i}]`,
      message: 'needs header, cookie, connection_properties or query_parameter',
    });
    return { kind: 'header', name: '', terminal };
  });
  return {
    ...base,
    kind,
    cluster: a['cluster'] as string | undefined,
    weighted,
    clusterHeader: a['cluster_header'] ? String(a['cluster_header']).toLowerCase() : undefined,
    prefixRewrite: a['prefix_rewrite'] as string | undefined,
    regexRewrite,
    hostRewrite: (a['host_rewrite_literal'] ?? a['host_rewrite']) as string | undefined,
    autoHostRewrite: wrapped(a['auto_host_rewrite'], false) === true,
    appendXForwardedHost: a['append_x_forwarded_host'] === true,
    timeoutMs: timeout ?? DEFAULT_ROUTE_TIMEOUT_MS,
    idleTimeoutMs: idle ?? undefined,
    maxGrpcTimeoutMs: maxGrpc,
    retryPolicy: retryMsg ? compileRetryPolicy(retryMsg, `${ap}.retry_policy`, errors) : null,
    mirrors,
    hashPolicies,
  };
}

/** envoy.type.v3.FractionalPercent as a probability. */
export function fractionOf(f: Msg | undefined): number {
  if (!f) return 1;
  const den = enumName(f['denominator'], ['HUNDRED', 'TEN_THOUSAND', 'MILLION'], 'HUNDRED');
  const d = den === 'MILLION' ? 1e6 : den === 'TEN_THOUSAND' ? 1e4 : 100;
  return Math.min(1, Number(f['numerator'] ?? 0) / d);
}

export function compileRouteConfiguration(rc: Msg, errors: FieldError[], parse: PerFilterParser): CompiledRouteConfig {
  const name = String(rc['name'] ?? '');
  const rootOps = compileHeaderOps(rc, '', errors);
  const rootPerFilter = new Map<string, unknown>();
  parsePerFilterMap(rc['typed_per_filter_config'], '', errors, parse, rootPerFilter);
  const exact = new Map<string, VirtualHost>();
  const suffixes: { suffix: string; vh: VirtualHost }[] = [];
  const prefixes: { prefix: string; vh: VirtualHost }[] = [];
  let star: VirtualHost | null = null;
  const vhosts: VirtualHost[] = [];
  ((rc['virtual_hosts'] as Msg[] | undefined) ?? []).forEach((v, vi) => {
    const vp = `virtual_hosts[${vi}]`;
    const vname = String(v['name'] ?? '');
    const perFilter = new Map(rootPerFilter);
    if (v['cors']) {
      const cors = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy', ...v['cors'] };
      perFilter.set('envoy.filters.http.cors', parse('envoy.filters.http.cors', cors, `${vp}.cors`, errors));
    }
    parsePerFilterMap(v['typed_per_filter_config'], vp, errors, parse, perFilter);
    const inherited = {
      headerOps: mergeHeaderOps(rootOps, compileHeaderOps(v, vp, errors)),
      retry: v['retry_policy'] as Msg | undefined,
      perFilter,
      bufferLimitBytes: parseBufferLimit(
        v['per_request_buffer_limit_bytes'],
        `${vp}.per_request_buffer_limit_bytes`,
        errors,
      ),
    };
    const routes = ((v['routes'] as Msg[] | undefined) ?? []).map((r, ri) =>
      compileRoute(r, `${vp}.routes[${ri}]`, vname, inherited, errors, parse),
    );
    const vh: VirtualHost = { name: vname, routes };
    vhosts.push(vh);
    const domains = (v['domains'] as string[] | undefined) ?? [];
    if (domains.length === 0) errors.push({ path: `${vp}.domains`, message: 'at least one domain is required' });
    for (const [di, raw] of domains.entries()) {
      const d = String(raw).toLowerCase();
      const dup = () =>
        errors.push({ path: `${vp}.domains[${di}]`, message: `domain "${d}" is used by two virtual hosts` });
      if (d === '*') {
        if (star) dup();
        star = vh;
      } else if (d.startsWith('*')) suffixes.push({ suffix: d.slice(1), vh });
      else if (d.endsWith('*')) prefixes.push({ prefix: d.slice(0, -1), vh });
      else {
        if (exact.has(d)) dup();
        exact.set(d, vh);
      }
    }
  });
  suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
  prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  const lookup = (host: string): VirtualHost | null => {
    const e = exact.get(host);
    if (e) return e;
    for (const s of suffixes) if (host.length > s.suffix.length && host.endsWith(s.suffix)) return s.vh;
    for (const p of prefixes) if (host.length > p.prefix.length && host.startsWith(p.prefix)) return p.vh;
    return null;
  };
  const cache = new Map<string, VirtualHost | null>();
  const findVirtualHost = (authority: string): VirtualHost | null => {
    const hit = cache.get(authority);
    if (hit !== undefined) return hit;
    const host = authority.toLowerCase();
    let vh = lookup(host);
    if (!vh) {
      const colon = host.lastIndexOf(':');
      if (colon > 0 && !host.endsWith(']')) vh = lookup(host.slice(0, colon));
    }
    vh = vh ?? star;
    if (cache.size < 10000) cache.set(authority, vh);
    return vh;
  };
  return {
    name,
    virtualHosts: vhosts,
    findVirtualHost,
    route(r) {
      const vh = findVirtualHost(r.authority);
      if (!vh) return null;
      for (const rt of vh.routes) if (rt.matches(r)) return rt;
      return null;
    },
  };
}
