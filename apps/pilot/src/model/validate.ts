/**
 * Field-addressed validation of the config kinds Pilot reads (Istio 1.0
 * `pilot/pkg/model/validation.go` rules that matter for generation). Every
 * problem is collected; an object with any error is rejected as a whole.
 */
import { parseDuration, type FieldError } from '@tsmesh/core';
import { RE2JS } from 're2js';
import type { MeshObject } from './store';

/** Kinds Pilot stores. Others are rejected as unknown. */
export const KNOWN_KINDS = new Set([
  'VirtualService',
  'DestinationRule',
  'Gateway',
  'ServiceEntry',
  'EnvoyFilter',
  'Sidecar',
  'Policy',
  'MeshPolicy',
  'PeerAuthentication',
  'RequestAuthentication',
  'AuthorizationPolicy',
  'ServiceRole',
  'ServiceRoleBinding',
  'RbacConfig',
  'ClusterRbacConfig',
  'HTTPAPISpec',
  'HTTPAPISpecBinding',
  'QuotaSpec',
  'QuotaSpecBinding',
  'rule',
  'handler',
  'instance',
  'attributemanifest',
  'template',
  'adapter',
  'metric',
  'logentry',
  'tracespan',
  'quota',
  'listentry',
  'checknothing',
  'reportnothing',
  'authorization',
  'apikey',
  'kubernetes',
  'prometheus',
  'memquota',
  'redisquota',
  'denier',
  'listchecker',
  'stdio',
  'fluentd',
  'kubernetesenv',
  'Service',
  'Endpoints',
  'EndpointSlice',
  'Pod',
  'Namespace',
  'Secret',
  'ConfigMap',
  'ServiceAccount',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Ingress',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

class Collector {
  readonly errors: FieldError[] = [];
  add(path: string, message: string): void {
    this.errors.push({ path, message });
  }
  duration(path: string, v: unknown): void {
    if (v === undefined) return;
    if (parseDuration(v as string) === null) this.add(path, `not a duration: ${JSON.stringify(v)}`);
  }
  regex(path: string, v: unknown): void {
    if (typeof v !== 'string') return this.add(path, 'regex must be a string');
    try {
      RE2JS.compile(v);
    } catch (e) {
      this.add(path, `invalid RE2 regex: ${(e as Error).message}`);
    }
  }
  stringMatch(path: string, v: unknown): void {
    if (!isObj(v)) return this.add(path, 'must be an object with exact, prefix or regex');
    const keys = Object.keys(v).filter((k) => ['exact', 'prefix', 'regex'].includes(k));
    if (keys.length !== 1) this.add(path, 'exactly one of exact, prefix, regex is required');
    if (v['regex'] !== undefined) this.regex(`${path}.regex`, v['regex']);
  }
  percent(path: string, f: Obj): void {
    const p = f['percent'];
    if (p !== undefined && (typeof p !== 'number' || p < 0 || p > 100)) this.add(`${path}.percent`, 'must be 0..100');
    const pv = isObj(f['percentage']) ? f['percentage']['value'] : undefined;
    if (pv !== undefined && (typeof pv !== 'number' || pv < 0 || pv > 100))
      this.add(`${path}.percentage.value`, 'must be 0..100');
  }
}

function validateDestination(c: Collector, path: string, d: unknown): void {
  if (!isObj(d)) return c.add(path, 'destination is required');
  if (typeof d['host'] !== 'string' || d['host'] === '') c.add(`${path}.host`, 'host is required');
}

function validateVirtualService(c: Collector, s: Obj): void {
  const hosts = arr(s['hosts']);
  // A VirtualService without hosts is only usable as a delegate (Istio 1.8 delegate semantics).
  hosts.forEach((h, i) => {
    if (typeof h !== 'string' || h === '') c.add(`spec.hosts[${i}]`, 'host must be a non-empty string');
  });
  arr(s['http']).forEach((r, i) => {
    const p = `spec.http[${i}]`;
    if (!isObj(r)) return c.add(p, 'must be an object');
    arr(r['match']).forEach((m, j) => {
      if (!isObj(m)) return;
      const mp = `${p}.match[${j}]`;
      for (const f of ['uri', 'scheme', 'method', 'authority'] as const)
        if (m[f] !== undefined) c.stringMatch(`${mp}.${f}`, m[f]);
      for (const f of ['headers', 'queryParams'] as const)
        if (isObj(m[f])) for (const [k, v] of Object.entries(m[f] as Obj)) c.stringMatch(`${mp}.${f}.${k}`, v);
    });
    const routes = arr(r['route']);
    const hasRedirect = r['redirect'] !== undefined;
    const hasDelegate = r['delegate'] !== undefined;
    if (routes.length === 0 && !hasRedirect && !hasDelegate)
      c.add(`${p}.route`, 'a route, redirect or delegate is required');
    if (hasRedirect && (routes.length > 0 || r['rewrite'] !== undefined))
      c.add(`${p}.redirect`, 'redirect cannot be combined with route or rewrite');
    let total = 0;
    let weighted = false;
    routes.forEach((d, k) => {
      if (!isObj(d)) return c.add(`${p}.route[${k}]`, 'must be an object');
      validateDestination(c, `${p}.route[${k}].destination`, d['destination']);
      if (d['weight'] !== undefined) {
        weighted = true;
        if (typeof d['weight'] !== 'number' || d['weight'] < 0 || d['weight'] > 100)
          c.add(`${p}.route[${k}].weight`, 'weight must be 0..100');
        else total += d['weight'];
      }
    });
    if (routes.length > 1 || weighted) {
      if (!(routes.length === 1 && !weighted) && total !== 100 && !(routes.length === 1 && total === 0))
        c.add(`${p}.route`, `total destination weight ${total} != 100`);
    }
    c.duration(`${p}.timeout`, r['timeout']);
    if (isObj(r['retries'])) {
      const a = r['retries']['attempts'];
      if (a !== undefined && (typeof a !== 'number' || a < 0)) c.add(`${p}.retries.attempts`, 'must be >= 0');
      c.duration(`${p}.retries.perTryTimeout`, r['retries']['perTryTimeout']);
    }
    if (isObj(r['fault'])) {
      const f = r['fault'];
      if (isObj(f['delay'])) {
        c.percent(`${p}.fault.delay`, f['delay']);
        if (f['delay']['fixedDelay'] === undefined && f['delay']['exponentialDelay'] === undefined)
          c.add(`${p}.fault.delay.fixedDelay`, 'fixedDelay is required');
        c.duration(`${p}.fault.delay.fixedDelay`, f['delay']['fixedDelay']);
      }
      if (isObj(f['abort'])) {
        c.percent(`${p}.fault.abort`, f['abort']);
        const st = f['abort']['httpStatus'];
        if (st !== undefined && (typeof st !== 'number' || st < 200 || st > 599))
          c.add(`${p}.fault.abort.httpStatus`, 'must be an HTTP status 200..599');
      }
    }
    if (isObj(r['mirror'])) validateDestination(c, `${p}.mirror`, r['mirror']);
  });
  for (const kind of ['tcp', 'tls'] as const)
    arr(s[kind]).forEach((r, i) => {
      if (!isObj(r)) return c.add(`spec.${kind}[${i}]`, 'must be an object');
      arr(r['route']).forEach((d, k) => {
        if (isObj(d)) validateDestination(c, `spec.${kind}[${i}].route[${k}].destination`, d['destination']);
      });
    });
}

const LB = ['ROUND_ROBIN', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH'];
const TLS_MODES = ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'];

function validateTrafficPolicy(c: Collector, p: string, tp: unknown): void {
  if (tp === undefined) return;
  if (!isObj(tp)) return c.add(p, 'must be an object');
  const lb = tp['loadBalancer'];
  if (isObj(lb) && lb['simple'] !== undefined && !LB.includes(String(lb['simple'])))
    c.add(`${p}.loadBalancer.simple`, `must be one of ${LB.join(', ')}`);
  const tls = tp['tls'];
  if (isObj(tls) && tls['mode'] !== undefined && !TLS_MODES.includes(String(tls['mode'])))
    c.add(`${p}.tls.mode`, `must be one of ${TLS_MODES.join(', ')}`);
  const pool = tp['connectionPool'];
  if (isObj(pool) && isObj(pool['tcp']))
    c.duration(`${p}.connectionPool.tcp.connectTimeout`, pool['tcp']['connectTimeout']);
  const od = tp['outlierDetection'];
  if (isObj(od)) {
    c.duration(`${p}.outlierDetection.interval`, od['interval']);
    c.duration(`${p}.outlierDetection.baseEjectionTime`, od['baseEjectionTime']);
  }
  arr(tp['portLevelSettings']).forEach((pl, i) => validateTrafficPolicy(c, `${p}.portLevelSettings[${i}]`, pl));
}

function validateDestinationRule(c: Collector, s: Obj): void {
  if (typeof s['host'] !== 'string' || s['host'] === '') c.add('spec.host', 'host is required');
  validateTrafficPolicy(c, 'spec.trafficPolicy', s['trafficPolicy']);
  const seen = new Set<string>();
  arr(s['subsets']).forEach((ss, i) => {
    if (!isObj(ss) || typeof ss['name'] !== 'string' || ss['name'] === '')
      return c.add(`spec.subsets[${i}].name`, 'subset name is required');
    if (seen.has(ss['name'])) c.add(`spec.subsets[${i}].name`, `duplicate subset ${ss['name']}`);
    seen.add(ss['name']);
    validateTrafficPolicy(c, `spec.subsets[${i}].trafficPolicy`, ss['trafficPolicy']);
  });
}

function validateGateway(c: Collector, s: Obj): void {
  const servers = arr(s['servers']);
  if (servers.length === 0) c.add('spec.servers', 'at least one server is required');
  servers.forEach((sv, i) => {
    if (!isObj(sv)) return c.add(`spec.servers[${i}]`, 'must be an object');
    const port = sv['port'];
    if (!isObj(port) || typeof port['number'] !== 'number')
      c.add(`spec.servers[${i}].port.number`, 'port number is required');
    if (arr(sv['hosts']).length === 0) c.add(`spec.servers[${i}].hosts`, 'at least one host is required');
  });
}

function validateServiceEntry(c: Collector, s: Obj): void {
  if (arr(s['hosts']).length === 0) c.add('spec.hosts', 'at least one host is required');
  const ports = arr(s['ports']);
  if (ports.length === 0) c.add('spec.ports', 'at least one port is required');
  ports.forEach((p, i) => {
    if (!isObj(p) || typeof p['number'] !== 'number') c.add(`spec.ports[${i}].number`, 'port number is required');
  });
  const res = s['resolution'];
  if (res !== undefined && !['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN'].includes(String(res)))
    c.add('spec.resolution', 'must be NONE, STATIC or DNS');
  if (res === 'STATIC' && arr(s['endpoints']).length === 0 && arr(s['addresses']).length === 0)
    c.add('spec.endpoints', 'STATIC resolution needs endpoints');
  const loc = s['location'];
  if (loc !== undefined && !['MESH_EXTERNAL', 'MESH_INTERNAL'].includes(String(loc)))
    c.add('spec.location', 'must be MESH_EXTERNAL or MESH_INTERNAL');
}

/** Returns every field error of `obj` (empty when valid). */
export function validateObject(obj: MeshObject): FieldError[] {
  const c = new Collector();
  if (!isObj(obj.metadata) || typeof obj.metadata.name !== 'string' || obj.metadata.name === '')
    c.add('metadata.name', 'name is required');
  const spec = obj.spec;
  const needsSpec = ['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry'].includes(obj.kind);
  if (needsSpec && !isObj(spec)) {
    c.add('spec', 'spec is required');
    return c.errors;
  }
  switch (obj.kind) {
    case 'VirtualService':
      validateVirtualService(c, spec as Obj);
      break;
    case 'DestinationRule':
      validateDestinationRule(c, spec as Obj);
      break;
    case 'Gateway':
      validateGateway(c, spec as Obj);
      break;
    case 'ServiceEntry':
      validateServiceEntry(c, spec as Obj);
      break;
    case 'Service':
      if (isObj(spec))
        arr(spec['ports']).forEach((p, i) => {
          if (!isObj(p) || typeof p['port'] !== 'number') c.add(`spec.ports[${i}].port`, 'port number is required');
        });
      break;
  }
  return c.errors;
}
