import type { CheckContext } from './kinds';
import { issue } from './schema';
import { MESH_GATEWAY, RETRY_ON_POLICIES } from './defaults';
import { hostMatches } from './hosts';
import {
  arr,
  checkDnsLabel,
  checkExportTo,
  checkHost,
  checkRegex,
  invalid,
  isObj,
  missing,
  strs,
  type Obj,
} from './check-util';
import type { ConfigObject } from './types/object';

/**
 * Semantic checks for VirtualService, after normalization. Rules and
 * messages follow Istio's validation ([I10] `pilot/pkg/model/validation.go`,
 * [IH] `pkg/config/validation`).
 */

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

function checkMatchMap(ctx: CheckContext, path: string, m: unknown): void {
  if (!isObj(m)) return;
  for (const [k, v] of Object.entries(m)) {
    if (k === '') invalid(ctx, path, 'header and query parameter names cannot be empty');
    checkRegex(ctx, `${path}.${k}`, v);
  }
}

function checkDestination(ctx: CheckContext, path: string, d: unknown): void {
  if (!isObj(d) || typeof d['host'] !== 'string') return;
  if (d['host'] === '*') invalid(ctx, `${path}.host`, 'destination host cannot be *');
  else checkHost(ctx, `${path}.host`, d['host']);
  if (typeof d['subset'] === 'string') checkDnsLabel(ctx, `${path}.subset`, d['subset'], 'subset name');
}

/** Weights of a route list must total 100 when there is more than one destination (Istio 1.0 rule). */
function checkWeights(ctx: CheckContext, path: string, routes: Obj[]): void {
  routes.forEach((r, j) => checkDestination(ctx, `${path}[${j}].destination`, r['destination']));
  if (routes.length <= 1) return;
  const sum = routes.reduce((s, r) => s + (typeof r['weight'] === 'number' ? r['weight'] : 0), 0);
  if (sum !== 100) ctx.error(issue(`${path}[0].weight`, 'MESH_CONFIG_ERR_WEIGHTS', { sum }));
}

function checkRetryOn(ctx: CheckContext, path: string, retryOn: unknown): void {
  if (typeof retryOn !== 'string') return;
  for (const policy of retryOn.split(',').map((s) => s.trim())) {
    if ((RETRY_ON_POLICIES as readonly string[]).includes(policy)) continue;
    if (/^\d{3}$/.test(policy) && Number(policy) >= 100 && Number(policy) <= 599) continue;
    invalid(ctx, path, `unknown retryOn policy ${JSON.stringify(policy)}`);
  }
}

function checkActions(ctx: CheckContext, p: string, route: Obj): void {
  const has = (f: string) => route[f] !== undefined;
  const routes = arr(route['route']);
  if (has('redirect')) {
    if (routes.length > 0) invalid(ctx, p, 'route and redirect cannot both be set');
    if (has('rewrite')) invalid(ctx, p, 'redirect and rewrite cannot both be set');
    if (has('fault')) invalid(ctx, p, 'fault and redirect cannot both be set');
    const r = route['redirect'];
    if (isObj(r) && !['uri', 'authority', 'port', 'scheme', 'prefixRewrite'].some((f) => r[f] !== undefined)) {
      invalid(ctx, `${p}.redirect`, 'redirect must specify uri, authority, port, scheme or prefixRewrite');
    }
  }
  if (has('directResponse') && (routes.length > 0 || has('redirect') || has('fault') || has('rewrite'))) {
    invalid(ctx, p, 'directResponse cannot be set together with route, redirect, fault or rewrite');
  }
  if (has('mirror') && arr(route['mirrors']).length > 0) invalid(ctx, p, 'mirror and mirrors cannot both be set');
  if (has('delegate') && (routes.length > 0 || has('redirect') || has('directResponse'))) {
    invalid(ctx, p, 'delegate cannot be set together with route, redirect or directResponse');
  }
  if (!has('redirect') && !has('directResponse') && !has('delegate') && routes.length === 0) {
    missing(ctx, `${p}.route`);
  }
  const rw = route['rewrite'];
  if (isObj(rw) && rw['uri'] === undefined && rw['authority'] === undefined && rw['uriRegexRewrite'] === undefined) {
    invalid(ctx, `${p}.rewrite`, 'rewrite must specify uri, authority or uriRegexRewrite');
  }
  if (isObj(rw) && rw['uri'] !== undefined && rw['uriRegexRewrite'] !== undefined) {
    invalid(ctx, `${p}.rewrite`, 'only one of uri, uriRegexRewrite may be set');
  }
  if (isObj(rw) && isObj(rw['uriRegexRewrite'])) {
    checkRegex(ctx, `${p}.rewrite.uriRegexRewrite`, { regex: rw['uriRegexRewrite']['match'] });
  }
  checkWeights(ctx, `${p}.route`, routes);
}

/** Header edits may not touch pseudo-headers or Host (except the request authority), nor set it twice. */
function checkHeaderOps(ctx: CheckContext, p: string, route: Obj): void {
  const headers = route['headers'];
  if (!isObj(headers)) return;
  const rw = route['rewrite'];
  let authority = isObj(rw) && typeof rw['authority'] === 'string' ? 'rewrite.authority' : '';
  for (const dir of ['request', 'response'] as const) {
    const ops = headers[dir];
    if (!isObj(ops)) continue;
    for (const op of ['set', 'add', 'remove'] as const) {
      const names = op === 'remove' ? strs(ops[op]) : isObj(ops[op]) ? Object.keys(ops[op] as Obj) : [];
      for (const name of names) {
        const path = `${p}.headers.${dir}.${op}.${name}`;
        const lower = name.toLowerCase();
        const isAuthority = lower === ':authority' || lower === 'host';
        if (name === '') invalid(ctx, `${p}.headers.${dir}.${op}`, 'header name cannot be empty');
        else if (dir === 'request' && op !== 'remove' && isAuthority) {
          if (authority) invalid(ctx, path, `authority header cannot be set multiple times (also set by ${authority})`);
          authority = path;
        } else if (lower === 'host') invalid(ctx, path, 'cannot set Host header');
        else if (name.startsWith(':')) invalid(ctx, path, `invalid header ${name}: header cannot have ":" prefix`);
      }
    }
  }
}

function checkHttpRoute(ctx: CheckContext, p: string, route: Obj): void {
  checkActions(ctx, p, route);
  checkHeaderOps(ctx, p, route);
  arr(route['match']).forEach((m, k) => {
    const mp = `${p}.match[${k}]`;
    for (const f of ['uri', 'scheme', 'method', 'authority']) checkRegex(ctx, `${mp}.${f}`, m[f]);
    for (const f of ['headers', 'queryParams', 'withoutHeaders']) checkMatchMap(ctx, `${mp}.${f}`, m[f]);
  });
  const fault = route['fault'];
  if (isObj(fault)) {
    const delay = fault['delay'];
    if (isObj(delay) && delay['fixedDelay'] === undefined && delay['exponentialDelay'] === undefined) {
      missing(ctx, `${p}.fault.delay.fixedDelay`);
    }
    const abort = fault['abort'];
    if (isObj(abort) && !['httpStatus', 'grpcStatus', 'http2Error'].some((f) => abort[f] !== undefined)) {
      missing(ctx, `${p}.fault.abort.httpStatus`);
    }
  }
  const retries = route['retries'];
  if (isObj(retries)) checkRetryOn(ctx, `${p}.retries.retryOn`, retries['retryOn']);
  if (route['mirror'] !== undefined) checkDestination(ctx, `${p}.mirror`, route['mirror']);
  arr(route['mirrors']).forEach((m, k) => checkDestination(ctx, `${p}.mirrors[${k}].destination`, m['destination']));
  const cors = route['corsPolicy'];
  if (isObj(cors)) {
    arr(cors['allowOrigins']).forEach((o, k) => checkRegex(ctx, `${p}.corsPolicy.allowOrigins[${k}]`, o));
    strs(cors['allowMethods']).forEach((m, k) => {
      if (!HTTP_METHODS.includes(m)) invalid(ctx, `${p}.corsPolicy.allowMethods[${k}]`, `invalid HTTP method ${m}`);
    });
  }
}

function checkHosts(ctx: CheckContext, spec: Obj): string[] {
  const hosts = strs(spec['hosts']);
  const gateways = strs(spec['gateways']);
  if (hosts.length === 0) {
    // Delegate VirtualServices (Istio 1.6+) have no hosts; anything else needs one.
    if (gateways.length === 0 && arr(spec['http']).length > 0) {
      ctx.warn('spec.hosts', 'no hosts: this VirtualService is only usable as a delegate');
    } else missing(ctx, 'spec.hosts');
  }
  const meshBound = gateways.length === 0 || gateways.includes(MESH_GATEWAY);
  hosts.forEach((h, i) => {
    if (h === '*' && meshBound) {
      ctx.error(
        issue(`spec.hosts[${i}]`, 'MESH_CONFIG_ERR_INVALID_HOST', {
          host: '"*"',
          detail: 'wildcard host * is not allowed for virtual services bound to the mesh gateway',
        }),
      );
    } else checkHost(ctx, `spec.hosts[${i}]`, h);
  });
  for (let i = 0; i < hosts.length; i++) {
    for (let j = i + 1; j < hosts.length; j++) {
      if (hostMatches(hosts[i], hosts[j]) || hostMatches(hosts[j], hosts[i])) {
        invalid(ctx, `spec.hosts[${j}]`, `duplicate hosts in virtual service: ${hosts[i]} & ${hosts[j]}`);
      }
    }
  }
  gateways.forEach((g, i) => {
    const name = g.includes('/') ? g.slice(g.indexOf('/') + 1) : g;
    if (g !== MESH_GATEWAY && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) {
      invalid(ctx, `spec.gateways[${i}]`, `invalid gateway name ${JSON.stringify(g)}`);
    }
  });
  return hosts;
}

export function checkVirtualService(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  const spec = obj.spec;
  const hosts = checkHosts(ctx, spec);
  checkExportTo(ctx, 'spec.exportTo', spec['exportTo']);
  arr(spec['http']).forEach((r, i) => checkHttpRoute(ctx, `spec.http[${i}]`, r));
  for (const f of ['tcp', 'tls']) {
    arr(spec[f]).forEach((r, i) => {
      const routes = arr(r['route']);
      if (routes.length === 0) missing(ctx, `spec.${f}[${i}].route`);
      checkWeights(ctx, `spec.${f}[${i}].route`, routes);
    });
  }
  arr(spec['tls']).forEach((r, i) => {
    if (arr(r['match']).length === 0) missing(ctx, `spec.tls[${i}].match`);
    arr(r['match']).forEach((m, k) => {
      strs(m['sniHosts']).forEach((sni, j) => {
        if (!hosts.some((h) => hostMatches(h, sni) || hostMatches(sni, h))) {
          invalid(
            ctx,
            `spec.tls[${i}].match[${k}].sniHosts[${j}]`,
            `sni host ${sni} is not matched by any of the virtual service hosts`,
          );
        }
      });
    });
  });
  if (arr(spec['http']).length + arr(spec['tcp']).length + arr(spec['tls']).length === 0) {
    invalid(ctx, 'spec', 'at least one http, tcp or tls route is required');
  }
}
