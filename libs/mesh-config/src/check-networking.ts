import type { CheckContext } from './kinds';
import { issue } from './schema';
import { hostProblem } from './hosts';
import { re2Problem } from './regex';
import { MESH_GATEWAY, RETRY_ON_POLICIES } from './defaults';
import type { ConfigObject } from './types/object';

/**
 * Semantic checks for `networking.istio.io` kinds, after normalization.
 * Messages follow Istio's validation ([I10] `pilot/pkg/model/validation.go`).
 */
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v.filter(isObj) as Obj[]) : []);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

function checkHost(ctx: CheckContext, path: string, host: string, allowWildcard = true): void {
  const problem = hostProblem(host, { allowWildcard });
  if (problem) ctx.error(issue(path, 'MESH_CONFIG_ERR_INVALID_HOST', { host: JSON.stringify(host), detail: problem }));
}

function checkRegex(ctx: CheckContext, path: string, m: unknown): void {
  if (!isObj(m) || typeof m['regex'] !== 'string') return;
  const problem = re2Problem(m['regex']);
  if (problem) {
    ctx.error(
      issue(`${path}.regex`, 'MESH_CONFIG_ERR_INVALID_REGEX', { value: JSON.stringify(m['regex']), detail: problem }),
    );
  }
}

function checkMatchMap(ctx: CheckContext, path: string, m: unknown): void {
  if (!isObj(m)) return;
  for (const [k, v] of Object.entries(m)) checkRegex(ctx, `${path}.${k}`, v);
}

function checkDestination(ctx: CheckContext, path: string, d: unknown): void {
  if (!isObj(d) || typeof d['host'] !== 'string') return;
  checkHost(ctx, `${path}.host`, d['host'], false);
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
    ctx.error(
      issue(path, 'MESH_CONFIG_ERR_INVALID_VALUE', { detail: `unknown retryOn policy ${JSON.stringify(policy)}` }),
    );
  }
}

function checkHttpRoute(ctx: CheckContext, p: string, route: Obj): void {
  const has = (f: string) => route[f] !== undefined;
  if (has('route') && has('redirect'))
    ctx.error(issue(p, 'MESH_CONFIG_ERR_INVALID_VALUE', { detail: 'route and redirect cannot both be set' }));
  if (has('route') && has('directResponse')) {
    ctx.error(issue(p, 'MESH_CONFIG_ERR_INVALID_VALUE', { detail: 'route and directResponse cannot both be set' }));
  }
  const routes = arr(route['route']);
  if (!has('redirect') && !has('directResponse') && !has('delegate') && routes.length === 0) {
    ctx.error(issue(`${p}.route`, 'MESH_CONFIG_ERR_MISSING_FIELD'));
  }
  if (has('redirect') && has('rewrite')) {
    ctx.error(issue(p, 'MESH_CONFIG_ERR_INVALID_VALUE', { detail: 'redirect and rewrite cannot both be set' }));
  }
  checkWeights(ctx, `${p}.route`, routes);
  arr(route['match']).forEach((m, k) => {
    const mp = `${p}.match[${k}]`;
    for (const f of ['uri', 'scheme', 'method', 'authority']) checkRegex(ctx, `${mp}.${f}`, m[f]);
    for (const f of ['headers', 'queryParams', 'withoutHeaders']) checkMatchMap(ctx, `${mp}.${f}`, m[f]);
  });
  const fault = route['fault'];
  if (isObj(fault)) {
    const delay = fault['delay'];
    if (isObj(delay) && delay['fixedDelay'] === undefined && delay['exponentialDelay'] === undefined) {
      ctx.error(issue(`${p}.fault.delay.fixedDelay`, 'MESH_CONFIG_ERR_MISSING_FIELD'));
    }
    const abort = fault['abort'];
    if (isObj(abort) && !['httpStatus', 'grpcStatus', 'http2Error'].some((f) => abort[f] !== undefined)) {
      ctx.error(issue(`${p}.fault.abort.httpStatus`, 'MESH_CONFIG_ERR_MISSING_FIELD'));
    }
  }
  const retries = route['retries'];
  if (isObj(retries)) checkRetryOn(ctx, `${p}.retries.retryOn`, retries['retryOn']);
  if (route['mirror'] !== undefined) checkDestination(ctx, `${p}.mirror`, route['mirror']);
  arr(route['mirrors']).forEach((m, k) => checkDestination(ctx, `${p}.mirrors[${k}].destination`, m['destination']));
  const cors = route['corsPolicy'];
  if (isObj(cors))
    arr(cors['allowOrigins']).forEach((o, k) => checkRegex(ctx, `${p}.corsPolicy.allowOrigins[${k}]`, o));
  const rewrite = route['rewrite'];
  if (isObj(rewrite) && isObj(rewrite['uriRegexRewrite'])) {
    checkRegex(ctx, `${p}.rewrite.uriRegexRewrite`, { regex: rewrite['uriRegexRewrite']['match'] });
  }
}

export function checkVirtualService(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  const spec = obj.spec;
  const hosts = strs(spec['hosts']);
  const gateways = strs(spec['gateways']);
  if (hosts.length === 0) {
    // Delegate VirtualServices (Istio 1.6+) have no hosts; anything else needs one.
    if (gateways.length === 0 && arr(spec['http']).length > 0) {
      ctx.warn('spec.hosts', 'no hosts: this VirtualService is only usable as a delegate');
    } else ctx.error(issue('spec.hosts', 'MESH_CONFIG_ERR_MISSING_FIELD'));
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
  arr(spec['http']).forEach((r, i) => checkHttpRoute(ctx, `spec.http[${i}]`, r));
  for (const f of ['tcp', 'tls']) {
    arr(spec[f]).forEach((r, i) => {
      const routes = arr(r['route']);
      if (routes.length === 0) ctx.error(issue(`spec.${f}[${i}].route`, 'MESH_CONFIG_ERR_MISSING_FIELD'));
      checkWeights(ctx, `spec.${f}[${i}].route`, routes);
    });
  }
  if (arr(spec['http']).length + arr(spec['tcp']).length + arr(spec['tls']).length === 0) {
    ctx.error(
      issue('spec', 'MESH_CONFIG_ERR_INVALID_VALUE', { detail: 'at least one http, tcp or tls route is required' }),
    );
  }
}

export function checkDestinationRule(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  const spec = obj.spec;
  if (typeof spec['host'] === 'string') checkHost(ctx, 'spec.host', spec['host']);
  const seen = new Set<string>();
  arr(spec['subsets']).forEach((s, i) => {
    const name = s['name'];
    if (typeof name !== 'string') return;
    if (seen.has(name)) {
      ctx.error(
        issue(`spec.subsets[${i}].name`, 'MESH_CONFIG_ERR_INVALID_VALUE', { detail: `duplicate subset ${name}` }),
      );
    }
    seen.add(name);
  });
}

export function checkGateway(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  arr(obj.spec['servers']).forEach((server, i) => {
    const p = `spec.servers[${i}]`;
    strs(server['hosts']).forEach((h, j) => {
      const host = h.includes('/') ? h.slice(h.indexOf('/') + 1) : h;
      if (host !== '*' && !host.startsWith('*') && !host.includes('.')) {
        ctx.error(
          issue(`${p}.hosts[${j}]`, 'MESH_CONFIG_ERR_INVALID_HOST', {
            host: JSON.stringify(h),
            detail: 'short names (non FQDN) are not allowed in gateway server hosts',
          }),
        );
      } else checkHost(ctx, `${p}.hosts[${j}]`, host);
    });
    const port = server['port'];
    const protocol = isObj(port) ? port['protocol'] : undefined;
    if ((protocol === 'HTTPS' || protocol === 'TLS') && !isObj(server['tls'])) {
      ctx.error(issue(`${p}.tls`, 'MESH_CONFIG_ERR_MISSING_FIELD'));
    }
  });
}

export function checkServiceEntry(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  const spec = obj.spec;
  strs(spec['hosts']).forEach((h, i) => checkHost(ctx, `spec.hosts[${i}]`, h));
  if (strs(spec['hosts']).length === 0) ctx.error(issue('spec.hosts', 'MESH_CONFIG_ERR_MISSING_FIELD'));
  const numbers = new Set<number>();
  arr(spec['ports']).forEach((port, i) => {
    const n = port['number'];
    if (typeof n === 'number' && numbers.has(n)) {
      ctx.error(issue(`spec.ports[${i}].number`, 'MESH_CONFIG_ERR_INVALID_VALUE', { detail: `duplicate port ${n}` }));
    }
    if (typeof n === 'number') numbers.add(n);
  });
  if (
    spec['resolution'] === 'STATIC' &&
    arr(spec['endpoints']).length === 0 &&
    spec['workloadSelector'] === undefined
  ) {
    ctx.error(
      issue('spec.endpoints', 'MESH_CONFIG_ERR_INVALID_VALUE', {
        detail: 'endpoints are required for STATIC resolution',
      }),
    );
  }
}

export function checkSidecar(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  arr(obj.spec['egress']).forEach((e, i) => {
    strs(e['hosts']).forEach((h, j) => {
      if (!h.includes('/')) {
        ctx.error(
          issue(`spec.egress[${i}].hosts[${j}]`, 'MESH_CONFIG_ERR_INVALID_HOST', {
            host: JSON.stringify(h),
            detail: 'egress hosts must be written namespace/dnsName',
          }),
        );
      }
    });
  });
}
