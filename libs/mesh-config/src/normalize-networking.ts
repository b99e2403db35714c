import type { CheckContext } from './kinds';

/**
 * Rewrites the 1.0 (and other older) field forms of `networking.istio.io`
 * into the latest-Istio shape, so consumers handle one form. Input is the
 * schema-clean spec (already camelCase, invalid values dropped).
 */
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v.filter(isObj) as Obj[]) : []);

function ensure(o: Obj, field: string): Obj {
  if (!isObj(o[field])) o[field] = {};
  return o[field] as Obj;
}

/** `percent: 50` → `percentage: { value: 50 }` (an explicit `percentage` wins). */
function movePercent(o: Obj, from: string, to: string, path: string, ctx: CheckContext): void {
  if (o[from] === undefined) return;
  if (o[to] === undefined) o[to] = { value: o[from] };
  else ctx.warn(`${path}.${from}`, `both ${from} and ${to} are set; ${to} is used`);
  delete o[from];
}

/** 1.0 `appendHeaders` & co. → `headers: { request: {add, remove}, response: {add, remove} }`. */
function moveLegacyHeaders(o: Obj): void {
  const moves: [string, 'request' | 'response', 'add' | 'remove'][] = [
    ['appendHeaders', 'request', 'add'],
    ['appendRequestHeaders', 'request', 'add'],
    ['removeRequestHeaders', 'request', 'remove'],
    ['appendResponseHeaders', 'response', 'add'],
    ['removeResponseHeaders', 'response', 'remove'],
  ];
  for (const [from, dir, op] of moves) {
    const v = o[from];
    if (v === undefined) continue;
    delete o[from];
    const target = ensure(ensure(o, 'headers'), dir);
    if (op === 'remove') {
      const cur = Array.isArray(target['remove']) ? (target['remove'] as string[]) : [];
      target['remove'] = [...cur, ...(v as string[]).filter((h) => !cur.includes(h))];
    } else {
      target['add'] = { ...(v as Obj), ...(isObj(target['add']) ? target['add'] : {}) };
    }
  }
}

export function normalizeVirtualService(spec: Obj, ctx: CheckContext): Obj {
  arr(spec['http']).forEach((route, i) => {
    const p = `spec.http[${i}]`;
    const fault = route['fault'];
    if (isObj(fault)) {
      if (isObj(fault['delay'])) movePercent(fault['delay'], 'percent', 'percentage', `${p}.fault.delay`, ctx);
      if (isObj(fault['delay']) && fault['delay']['exponentialDelay'] !== undefined) {
        ctx.warn(`${p}.fault.delay.exponentialDelay`, 'exponentialDelay is not supported by Istio and is ignored');
      }
      if (isObj(fault['abort'])) movePercent(fault['abort'], 'percent', 'percentage', `${p}.fault.abort`, ctx);
    }
    movePercent(route, 'mirrorPercent', 'mirrorPercentage', p, ctx);
    moveLegacyHeaders(route);
    arr(route['route']).forEach((dest) => moveLegacyHeaders(dest));
    if (route['websocketUpgrade'] !== undefined) {
      delete route['websocketUpgrade'];
      ctx.warn(`${p}.websocketUpgrade`, 'websocketUpgrade is ignored: WebSocket upgrades are always allowed');
    }
    const cors = route['corsPolicy'];
    if (isObj(cors) && Array.isArray(cors['allowOrigin'])) {
      const legacy = (cors['allowOrigin'] as string[]).map((o) => ({ exact: o }));
      cors['allowOrigins'] = [...legacy, ...(Array.isArray(cors['allowOrigins']) ? cors['allowOrigins'] : [])];
      delete cors['allowOrigin'];
    }
  });
  return spec;
}

function normalizeTrafficPolicy(tp: unknown): void {
  if (!isObj(tp)) return;
  const levels = [tp, ...arr(tp['portLevelSettings'])];
  for (const level of levels) {
    const od = level['outlierDetection'];
    if (isObj(od) && od['consecutiveErrors'] !== undefined) {
      if (od['consecutive5xxErrors'] === undefined) od['consecutive5xxErrors'] = od['consecutiveErrors'];
      delete od['consecutiveErrors'];
    }
  }
}

export function normalizeDestinationRule(spec: Obj): Obj {
  normalizeTrafficPolicy(spec['trafficPolicy']);
  arr(spec['subsets']).forEach((s) => normalizeTrafficPolicy(s['trafficPolicy']));
  return spec;
}

export function normalizeAuthorizationPolicy(spec: Obj): Obj {
  if (spec['action'] === undefined) spec['action'] = 'ALLOW';
  return spec;
}
