/**
 * VirtualService HTTP routes → Envoy v3 Route entries (Istio 1.0
 * `pilot/pkg/networking/core/v1alpha3/route/route.go` translateRoute), with
 * the later fields the seeds use (retryOn, percentage, queryParams, headers,
 * mirrorPercentage, delegate).
 */
import { parseDuration } from '@tsmesh/core';
import type { Proxy } from '../model/proxy';
import { destinationRuleFor, fqdn, type ConfigRef, type PushContext } from '../model/push-context';
import { labelsMatch } from '../model/types';
import { dur, FILTER_NAME, FILTER_TYPE, outboundClusterName, wrap, type Msg } from './names';
import { effectivePolicy } from './traffic-policy';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const arr = <T = Obj>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

/** Where the routes are generated for: a sidecar (gateway `mesh`) or a gateway listener. */
export interface RouteScope {
  proxy: Proxy;
  ctx: PushContext;
  /** Listener / service port the route config serves. */
  port: number;
  /** Gateway names (`ns/name`) in force; `['mesh']` for sidecars. */
  gateways: readonly string[];
  /** Proxyless gRPC: timeouts as max_stream_duration, gRPC retry codes, no redirects. */
  grpc?: boolean;
}

const DEFAULT_RETRY_ON = '5xx,connect-failure,refused-stream';
const GRPC_RETRY_CODES = new Set(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']);

/** Envoy StringMatcher from an Istio StringMatch. */
export function stringMatcher(m: Obj): Msg | undefined {
  if (typeof m['exact'] === 'string') return { exact: m['exact'] };
  if (typeof m['prefix'] === 'string') return { prefix: m['prefix'] };
  if (typeof m['regex'] === 'string') return { safe_regex: { regex: m['regex'] } };
  return undefined;
}

function headerMatcher(name: string, m: unknown): Msg | undefined {
  if (!isObj(m)) return undefined;
  const sm = stringMatcher(m);
  return sm ? { name, string_match: sm } : undefined;
}

function routeMatch(m: Obj | undefined): Msg {
  const out: Msg = {};
  const uri = m && isObj(m['uri']) ? m['uri'] : undefined;
  if (uri && typeof uri['exact'] === 'string') out['path'] = uri['exact'];
  else if (uri && typeof uri['prefix'] === 'string') out['prefix'] = uri['prefix'];
  else if (uri && typeof uri['regex'] === 'string') out['safe_regex'] = { regex: uri['regex'] };
  else out['prefix'] = '/';
  if (m?.['ignoreUriCase'] === true) out['case_sensitive'] = wrap(false);
  const headers: Msg[] = [];
  if (m && isObj(m['headers'])) {
    for (const name of Object.keys(m['headers']).sort()) {
      const h = headerMatcher(name.toLowerCase(), m['headers'][name]);
      if (h) headers.push(h);
    }
  }
  for (const [field, header] of [
    ['scheme', ':scheme'],
    ['method', ':method'],
    ['authority', ':authority'],
  ] as const) {
    const h = m ? headerMatcher(header, m[field]) : undefined;
    if (h) headers.push(h);
  }
  if (m && isObj(m['withoutHeaders']))
    for (const name of Object.keys(m['withoutHeaders']).sort()) {
      const h = headerMatcher(name.toLowerCase(), m['withoutHeaders'][name]);
      if (h) headers.push({ ...h, invert_match: true });
    }
  if (headers.length > 0) out['headers'] = headers;
  if (m && isObj(m['queryParams'])) {
    const qp: Msg[] = [];
    for (const name of Object.keys(m['queryParams']).sort()) {
      const q = m['queryParams'][name];
      const sm = isObj(q) ? stringMatcher(q) : undefined;
      if (sm) qp.push({ name, string_match: sm });
    }
    if (qp.length > 0) out['query_parameters'] = qp;
  }
  return out;
}

/** Whether a route (Istio HTTPRoute) is a catch-all (moved last when merging VirtualServices). */
export function isCatchAll(r: Obj): boolean {
  const matches = arr(r['match']);
  if (matches.length === 0) return true;
  return matches.some((m) => {
    const keys = Object.keys(m).filter((k) => k !== 'name');
    if (keys.length === 0) return true;
    return keys.length === 1 && isObj(m['uri']) && m['uri']['prefix'] === '/';
  });
}

function percentOf(f: Obj): Msg {
  if (isObj(f['percentage']) && typeof f['percentage']['value'] === 'number')
    return { numerator: Math.round(f['percentage']['value'] * 10000), denominator: 'MILLION' };
  if (typeof f['percent'] === 'number') return { numerator: f['percent'], denominator: 'HUNDRED' };
  return { numerator: 100, denominator: 'HUNDRED' };
}

function faultConfig(f: Obj): Msg | undefined {
  const out: Msg = { '@type': FILTER_TYPE.fault };
  if (isObj(f['delay'])) {
    const d = parseDuration(f['delay']['fixedDelay'] ?? f['delay']['exponentialDelay']);
    if (d !== null) out['delay'] = { fixed_delay: dur(d), percentage: percentOf(f['delay']) };
  }
  if (isObj(f['abort'])) {
    const a = f['abort'];
    const abort: Msg = { percentage: percentOf(a) };
    if (typeof a['httpStatus'] === 'number') abort['http_status'] = a['httpStatus'];
    else if (typeof a['grpcStatus'] === 'number') abort['grpc_status'] = a['grpcStatus'];
    else abort['http_status'] = 503;
    out['abort'] = abort;
  }
  return out['delay'] || out['abort'] ? out : undefined;
}

function headerOptions(map: unknown, action: string): Msg[] {
  if (!isObj(map)) return [];
  return Object.entries(map).map(([key, value]) => ({ header: { key, value: String(value) }, append_action: action }));
}

function corsPolicy(c: Obj): Msg {
  const out: Msg = { '@type': FILTER_TYPE.corsPolicy };
  const origins: Msg[] = [];
  for (const o of arr<string>(c['allowOrigin']))
    origins.push(o === '*' ? { safe_regex: { regex: '.*' } } : { exact: o });
  for (const o of arr(c['allowOrigins'])) {
    const sm = stringMatcher(o);
    if (sm) origins.push(sm);
  }
  if (origins.length > 0) out['allow_origin_string_match'] = origins;
  if (Array.isArray(c['allowMethods'])) out['allow_methods'] = (c['allowMethods'] as string[]).join(',');
  if (Array.isArray(c['allowHeaders'])) out['allow_headers'] = (c['allowHeaders'] as string[]).join(',');
  if (Array.isArray(c['exposeHeaders'])) out['expose_headers'] = (c['exposeHeaders'] as string[]).join(',');
  const maxAge = parseDuration(c['maxAge']);
  if (maxAge !== null && c['maxAge'] !== undefined) out['max_age'] = String(Math.floor(maxAge / 1000));
  if (typeof c['allowCredentials'] === 'boolean') out['allow_credentials'] = wrap(c['allowCredentials']);
  return out;
}

/** Resolves an Istio Destination to its cluster name. */
export function destinationCluster(scope: RouteScope, vs: ConfigRef, d: Obj): string {
  const host = fqdn(String(d['host']), vs.namespace, scope.ctx.mesh.domainSuffix);
  let port: number | undefined = isObj(d['port']) ? Number(d['port']['number']) : undefined;
  if (port === undefined) {
    const svc = scope.ctx.servicesByHost.get(host);
    port = svc && svc.ports.length === 1 ? svc.ports[0].port : scope.port;
  }
  return outboundClusterName(port, typeof d['subset'] === 'string' ? d['subset'] : '', host);
}

/** Route `hash_policy` from the DestinationRule consistentHash of the cluster's host/port/subset. */
export function hashPolicy(ctx: PushContext, cluster: string): Msg[] | undefined {
  const [, port, subset, host] = cluster.split('|');
  const pol = effectivePolicy(destinationRuleFor(ctx, host), Number(port), subset);
  const ch = pol.loadBalancer?.['consistentHash'];
  if (!isObj(ch)) return undefined;
  if (typeof ch['httpHeaderName'] === 'string') return [{ header: { header_name: ch['httpHeaderName'] } }];
  if (isObj(ch['httpCookie'])) {
    const c = ch['httpCookie'];
    const cookie: Msg = { name: String(c['name']) };
    if (typeof c['path'] === 'string') cookie['path'] = c['path'];
    const ttl = parseDuration(c['ttl']);
    if (ttl !== null && c['ttl'] !== undefined) cookie['ttl'] = dur(ttl);
    return [{ cookie }];
  }
  if (ch['useSourceIp'] === true) return [{ connection_properties: { source_ip: true } }];
  if (typeof ch['httpQueryParameterName'] === 'string')
    return [{ query_parameter: { name: ch['httpQueryParameterName'] } }];
  return undefined;
}

function retryPolicy(scope: RouteScope, r: Obj): Msg | undefined {
  if (!isObj(r['retries'])) return undefined;
  const attempts = Number(r['retries']['attempts'] ?? 0);
  if (!(attempts > 0)) return undefined;
  let retryOn = typeof r['retries']['retryOn'] === 'string' ? r['retries']['retryOn'] : DEFAULT_RETRY_ON;
  if (scope.grpc) {
    const codes = retryOn
      .split(',')
      .map((s) => s.trim())
      .filter((s) => GRPC_RETRY_CODES.has(s));
    retryOn = codes.length > 0 ? codes.join(',') : 'unavailable';
  }
  const out: Msg = { retry_on: retryOn, num_retries: wrap(attempts) };
  const per = parseDuration(r['retries']['perTryTimeout']);
  if (per !== null && r['retries']['perTryTimeout'] !== undefined) out['per_try_timeout'] = dur(per);
  return out;
}

/** Builds the Envoy route action / redirect for one Istio HTTPRoute (shared by all its matches). */
function routeBody(scope: RouteScope, vs: ConfigRef, r: Obj, hostForOp: string): Msg {
  const out: Msg = {};
  if (isObj(r['redirect'])) {
    const red: Msg = {};
    if (typeof r['redirect']['uri'] === 'string') red['path_redirect'] = r['redirect']['uri'];
    if (typeof r['redirect']['authority'] === 'string') red['host_redirect'] = r['redirect']['authority'];
    const code = r['redirect']['redirectCode'];
    if (code === 303) red['response_code'] = 'SEE_OTHER';
    else if (code === 307) red['response_code'] = 'TEMPORARY_REDIRECT';
    else if (code === 308) red['response_code'] = 'PERMANENT_REDIRECT';
    else if (code === 302) red['response_code'] = 'FOUND';
    out['redirect'] = red;
  } else {
    const action: Msg = {};
    const dests = arr(r['route']).filter((d) => isObj(d['destination']));
    const weighted = dests
      .map((d) => ({ name: destinationCluster(scope, vs, d['destination'] as Obj), weight: Number(d['weight'] ?? 0) }))
      .filter((w, _i, all) => all.length === 1 || w.weight > 0);
    if (weighted.length === 1) action['cluster'] = weighted[0].name;
    else action['weighted_clusters'] = { clusters: weighted.map((w) => ({ name: w.name, weight: wrap(w.weight) })) };
    const timeout = parseDuration(r['timeout']);
    const t = r['timeout'] !== undefined && timeout !== null ? timeout : 0;
    if (scope.grpc) {
      action['max_stream_duration'] =
        r['timeout'] !== undefined
          ? { max_stream_duration: dur(t), grpc_timeout_header_max: dur(t) }
          : { grpc_timeout_header_max: dur(0) };
    } else action['timeout'] = dur(t);
    const retry = retryPolicy(scope, r);
    if (retry) action['retry_policy'] = retry;
    if (isObj(r['rewrite'])) {
      if (typeof r['rewrite']['uri'] === 'string') action['prefix_rewrite'] = r['rewrite']['uri'];
      if (typeof r['rewrite']['authority'] === 'string') action['host_rewrite_literal'] = r['rewrite']['authority'];
    }
    if (isObj(r['mirror'])) {
      const m: Msg = { cluster: destinationCluster(scope, vs, r['mirror']) };
      const pct = isObj(r['mirrorPercentage'])
        ? { numerator: Math.round(Number(r['mirrorPercentage']['value']) * 10000), denominator: 'MILLION' }
        : typeof r['mirrorPercent'] === 'number'
          ? { numerator: r['mirrorPercent'], denominator: 'HUNDRED' }
          : undefined;
      if (pct) m['runtime_fraction'] = { default_value: pct };
      action['request_mirror_policies'] = [m];
    }
    const first = weighted[0]?.name;
    const hp = first ? hashPolicy(scope.ctx, first) : undefined;
    if (hp) action['hash_policy'] = hp;
    out['route'] = action;
  }
  const perFilter: Msg = {};
  if (isObj(r['fault'])) {
    const f = faultConfig(r['fault']);
    if (f) perFilter[FILTER_NAME.fault] = f;
  }
  if (isObj(r['corsPolicy'])) perFilter[FILTER_NAME.cors] = corsPolicy(r['corsPolicy']);
  if (Object.keys(perFilter).length > 0) out['typed_per_filter_config'] = perFilter;
  const reqAdd = [...headerOptions(r['appendHeaders'], 'APPEND_IF_EXISTS_OR_ADD')];
  const resAdd: Msg[] = [];
  const reqRemove: string[] = [];
  const resRemove: string[] = arr<string>(r['removeResponseHeaders']);
  const h = isObj(r['headers']) ? r['headers'] : {};
  if (isObj(h['request'])) {
    reqAdd.push(...headerOptions(h['request']['set'], 'OVERWRITE_IF_EXISTS_OR_ADD'));
    reqAdd.push(...headerOptions(h['request']['add'], 'APPEND_IF_EXISTS_OR_ADD'));
    reqRemove.push(...arr<string>(h['request']['remove']));
  }
  if (isObj(h['response'])) {
    resAdd.push(...headerOptions(h['response']['set'], 'OVERWRITE_IF_EXISTS_OR_ADD'));
    resAdd.push(...headerOptions(h['response']['add'], 'APPEND_IF_EXISTS_OR_ADD'));
    resRemove.push(...arr<string>(h['response']['remove']));
  }
  if (!scope.grpc) {
    if (reqAdd.length) out['request_headers_to_add'] = reqAdd;
    if (reqRemove.length) out['request_headers_to_remove'] = reqRemove;
    if (resAdd.length) out['response_headers_to_add'] = resAdd;
    if (resRemove.length) out['response_headers_to_remove'] = resRemove;
    out['decorator'] = { operation: `${hostForOp}:${scope.port}/*` };
  }
  return out;
}

function gatewayAllowed(scope: RouteScope, vs: ConfigRef, gws: unknown): boolean {
  const list = arr<string>(gws);
  const names = list.length > 0 ? list : ['mesh'];
  return names.some((g) => {
    if (g === 'mesh') return scope.gateways.includes('mesh');
    const full = g.includes('/') ? g : `${vs.namespace}/${g}`;
    return scope.gateways.includes(full) || scope.gateways.includes(g);
  });
}

function mergeMatch(parent: Obj | undefined, child: Obj | undefined): Obj | undefined {
  if (!parent) return child;
  if (!child) return parent;
  const out: Obj = { ...parent, ...child };
  for (const k of ['headers', 'queryParams', 'sourceLabels'])
    if (isObj(parent[k]) || isObj(child[k])) out[k] = { ...(parent[k] as Obj), ...(child[k] as Obj) };
  return out;
}

/** Expands `delegate` routes (Istio 1.8 semantics) by inlining the delegate VirtualService. */
export function expandDelegates(ctx: PushContext, vs: ConfigRef, depth = 0): { vs: ConfigRef; route: Obj }[] {
  const out: { vs: ConfigRef; route: Obj }[] = [];
  for (const r of arr(vs.spec['http'])) {
    if (!isObj(r['delegate']) || depth > 0) {
      out.push({ vs, route: r });
      continue;
    }
    const name = String(r['delegate']['name']);
    const ns = String(r['delegate']['namespace'] ?? vs.namespace);
    const child = ctx.virtualServices.find((v) => v.name === name && v.namespace === ns);
    if (!child) continue;
    const parentMatches = arr(r['match']);
    for (const cr of arr(child.spec['http'])) {
      const childMatches = arr(cr['match']);
      const merged: Obj[] = [];
      for (const pm of parentMatches.length ? parentMatches : [undefined])
        for (const cm of childMatches.length ? childMatches : [undefined]) {
          const m = mergeMatch(pm as Obj | undefined, cm as Obj | undefined);
          if (m) merged.push(m);
        }
      out.push({ vs: child, route: { ...cr, match: merged.length ? merged : undefined } });
    }
  }
  return out;
}

/**
 * Envoy routes for one host from its VirtualServices (oldest first; catch-all
 * routes moved to the end as Istio's CombineVHostRoutes does). Matches on a
 * different port, for other source labels or other gateways are dropped here,
 * per proxy.
 */
export function buildHttpRoutes(scope: RouteScope, vss: readonly ConfigRef[], hostForOp: string): Msg[] {
  const normal: Msg[] = [];
  const catchAll: Msg[] = [];
  for (const vs of vss) {
    for (const { vs: owner, route: r } of expandDelegates(scope.ctx, vs)) {
      if (scope.grpc && isObj(r['redirect'])) continue;
      const matches = arr(r['match']);
      const kept: (Obj | undefined)[] = [];
      for (const m of matches.length > 0 ? matches : [undefined]) {
        if (m && typeof m['port'] === 'number' && m['port'] !== scope.port) continue;
        if (
          m &&
          isObj(m['sourceLabels']) &&
          !labelsMatch(m['sourceLabels'] as Record<string, string>, scope.proxy.labels)
        )
          continue;
        if (m && typeof m['sourceNamespace'] === 'string' && m['sourceNamespace'] !== scope.proxy.namespace) continue;
        if (!gatewayAllowed(scope, vs, m?.['gateways'] ?? vs.spec['gateways'])) continue;
        kept.push(m);
      }
      if (kept.length === 0) continue;
      const body = routeBody(scope, owner, r, hostForOp);
      const target = isCatchAll(r) ? catchAll : normal;
      kept.forEach((m, i) => {
        const route: Msg = { match: routeMatch(m), ...body };
        const name = typeof r['name'] === 'string' ? r['name'] : undefined;
        if (name) route['name'] = m && typeof m['name'] === 'string' ? `${name}.${m['name']}` : name;
        void i;
        target.push(route);
      });
    }
  }
  return [...normal, ...catchAll];
}
