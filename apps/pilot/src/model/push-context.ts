/**
 * An immutable snapshot of everything generation needs, built once per push
 * from the config store (Istio's PushContext). Per-service pieces generated
 * from it are cached on the context and shared by every proxy in the push.
 */
import type { ConfigStore, MeshObject, StoredObject } from '@tsmesh/mesh-config';
import type { MeshSettings } from './mesh';
import {
  labelsMatch,
  parseProtocol,
  protocolFromPortName,
  type Endpoint,
  type Service,
  type ServicePort,
} from './types';

type Obj = Record<string, unknown>;
const arr = <T = Obj>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

export interface ConfigRef<S = Obj> {
  name: string;
  namespace: string;
  spec: S;
  /** Creation order key, for Istio's "oldest wins" merge rules. */
  order: string;
}

export interface PushContext {
  version: string;
  mesh: MeshSettings;
  services: Service[];
  servicesByHost: Map<string, Service>;
  endpoints: Map<string, Endpoint[]>;
  virtualServices: ConfigRef[];
  destinationRules: Map<string, ConfigRef>;
  gateways: ConfigRef[];
  /** Every other stored Istio object (security, mixer, ...), for plugins. */
  store: ConfigStore;
  /** Per-push memo for generated per-service pieces (shared across proxies). */
  cache: Map<string, unknown>;
  /** Pieces of the previous push with the fingerprint of their inputs (reused when inputs are unchanged). */
  previous: Map<string, Persisted>;
  /** What this push keeps for the next one. */
  next: Map<string, Persisted>;
  /** Push generation (1, 2, ...). */
  gen: number;
}

export interface Persisted {
  fp: string;
  value: unknown;
  /** Push generation that last used it; unused entries are dropped after a few pushes. */
  gen: number;
}

/** How many pushes an unused reusable piece survives (an EDS-only push does not touch CDS pieces). */
const KEEP_GENERATIONS = 8;

/** Istio's ResolveShortnameToFQDN: names without a dot are relative to the config's namespace. */
export function fqdn(host: string, namespace: string, domainSuffix: string): string {
  if (host.includes('.') || host === '*' || host.startsWith('*')) return host;
  return `${host}.${namespace}.svc.${domainSuffix}`;
}

function kubeService(o: StoredObject, suffix: string): Service {
  const spec = (o.object.spec ?? {}) as Obj;
  const ports: ServicePort[] = arr(spec['ports']).map((p) => ({
    name: String(p['name'] ?? ''),
    port: Number(p['port']),
    protocol: p['appProtocol']
      ? parseProtocol(String(p['appProtocol']))
      : protocolFromPortName(p['name'] as string | undefined, 'TCP'),
  }));
  const ip = typeof spec['clusterIP'] === 'string' && spec['clusterIP'] !== 'None' ? spec['clusterIP'] : '0.0.0.0';
  return {
    hostname: `${o.name}.${o.namespace}.svc.${suffix}`,
    name: o.name,
    namespace: o.namespace,
    address: ip,
    ports,
    resolution: 'EDS',
    meshExternal: false,
    source: o.key,
    selector: (spec['selector'] as Record<string, string> | undefined) ?? undefined,
  };
}

interface PodInfo {
  name: string;
  namespace: string;
  ip: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  containerPorts: Map<string, number>;
  ready: boolean;
  locality?: Endpoint['locality'];
}

function podInfo(o: MeshObject): PodInfo | undefined {
  const status = (o['status'] ?? {}) as Obj;
  const spec = (o.spec ?? {}) as Obj;
  const ip = typeof status['podIP'] === 'string' ? status['podIP'] : undefined;
  if (!ip) return undefined;
  const containerPorts = new Map<string, number>();
  for (const c of arr(spec['containers']))
    for (const p of arr(c['ports'])) if (p['name']) containerPorts.set(String(p['name']), Number(p['containerPort']));
  const labels = o.metadata.labels ?? {};
  const phase = status['phase'];
  const region = labels['topology.kubernetes.io/region'];
  const zone = labels['topology.kubernetes.io/zone'];
  return {
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? 'default',
    ip,
    labels,
    serviceAccount: (spec['serviceAccountName'] as string | undefined) ?? 'default',
    containerPorts,
    ready: phase === undefined || phase === 'Running',
    locality: region || zone ? { region, zone } : undefined,
  };
}

function targetPortOf(svcObj: MeshObject, port: ServicePort, pod: PodInfo | undefined): number {
  const p = arr((svcObj.spec as Obj | undefined)?.['ports']).find((x) => Number(x['port']) === port.port);
  const tp = p?.['targetPort'];
  if (typeof tp === 'number') return tp;
  if (typeof tp === 'string' && /^\d+$/.test(tp)) return Number(tp);
  if (typeof tp === 'string' && pod?.containerPorts.has(tp)) return pod.containerPorts.get(tp) as number;
  return port.port;
}

/** EndpointSlices (discovery.k8s.io/v1) of one service, in the Endpoints `subsets` shape. */
function slicesAsSubsets(slices: StoredObject[]): Obj[] {
  const subsets: Obj[] = [];
  for (const s of slices) {
    const o = s.object as Obj;
    const body = (o['endpoints'] ? o : ((o['spec'] as Obj | undefined) ?? {})) as Obj;
    const ports = arr(body['ports']);
    const addresses: Obj[] = [];
    for (const e of arr(body['endpoints'])) {
      const ready = (e['conditions'] as Obj | undefined)?.['ready'];
      if (ready === false) continue;
      for (const ip of arr<string>(e['addresses'])) addresses.push({ ip, targetRef: e['targetRef'] });
    }
    subsets.push({ addresses, ports });
  }
  return subsets;
}

function kubeEndpoints(
  svc: Service,
  svcObj: MeshObject,
  epObj: StoredObject | undefined,
  pods: PodInfo[],
  podsByIp: Map<string, PodInfo>,
  slices: StoredObject[] = [],
): Endpoint[] {
  const out: Endpoint[] = [];
  if (!epObj && slices.length > 0)
    epObj = {
      key: '',
      kind: 'Endpoints',
      namespace: svc.namespace,
      name: svc.name,
      source: 'slices',
      revision: 0,
      object: { kind: 'Endpoints', metadata: { name: svc.name }, subsets: slicesAsSubsets(slices) },
    };
  if (epObj) {
    const subsetsOf = (o: MeshObject) => arr(o['subsets'] ?? (o.spec as Obj | undefined)?.['subsets']);
    for (const subset of subsetsOf(epObj.object)) {
      const ports = arr(subset['ports']);
      for (const a of arr(subset['addresses'])) {
        const ip = String(a['ip']);
        const pod = podsByIp.get(ip);
        for (const ep of ports) {
          const sp =
            svc.ports.find((p) => p.name !== '' && p.name === ep['name']) ??
            (svc.ports.length === 1 ? svc.ports[0] : undefined);
          if (!sp) continue;
          out.push({
            hostname: svc.hostname,
            servicePort: sp.port,
            address: ip,
            port: Number(ep['port']),
            labels: pod?.labels ?? {},
            serviceAccount: pod?.serviceAccount,
            locality: pod?.locality,
            podName: pod?.name ?? ((a['targetRef'] as Obj | undefined)?.['name'] as string | undefined),
            namespace: svc.namespace,
          });
        }
      }
    }
    return out;
  }
  // No Endpoints object (folder registry written by hand): select ready pods like the endpoints controller.
  if (!svc.selector || Object.keys(svc.selector).length === 0) return out;
  for (const pod of pods) {
    if (pod.namespace !== svc.namespace || !pod.ready || !labelsMatch(svc.selector, pod.labels)) continue;
    for (const sp of svc.ports)
      out.push({
        hostname: svc.hostname,
        servicePort: sp.port,
        address: pod.ip,
        port: targetPortOf(svcObj, sp, pod),
        labels: pod.labels,
        serviceAccount: pod.serviceAccount,
        locality: pod.locality,
        podName: pod.name,
        namespace: svc.namespace,
      });
  }
  return out;
}

/** Istio `convertServices`: a CIDR of one address (/32, /128) is that address; other CIDRs stay ranges. */
function serviceEntryAddress(a: string): string {
  const [ip, len] = a.split('/');
  return len !== undefined && Number(len) === (ip.includes(':') ? 128 : 32) ? ip : a;
}

function serviceEntryServices(o: StoredObject, suffix: string): { services: Service[]; endpoints: Endpoint[] } {
  const spec = (o.object.spec ?? {}) as Obj;
  const ports: ServicePort[] = arr(spec['ports']).map((p) => ({
    name: String(p['name'] ?? ''),
    port: Number(p['number']),
    protocol: parseProtocol(p['protocol'] as string | undefined),
  }));
  const res = String(spec['resolution'] ?? 'NONE');
  const resolution = res === 'STATIC' ? 'STATIC' : res.startsWith('DNS') ? 'DNS' : 'NONE';
  const meshExternal = spec['location'] !== 'MESH_INTERNAL';
  const addresses = arr<string>(spec['addresses']).map(serviceEntryAddress);
  const services: Service[] = [];
  const endpoints: Endpoint[] = [];
  for (const h of arr<string>(spec['hosts'])) {
    const hostname = fqdn(h, o.namespace, suffix);
    const svc: Service = {
      hostname,
      name: hostname,
      namespace: o.namespace,
      address: addresses[0] && !addresses[0].includes('/') ? addresses[0] : '0.0.0.0',
      ...(addresses.length > 0 ? { addresses } : {}),
      ports,
      resolution,
      meshExternal,
      source: o.key,
    };
    services.push(svc);
    const eps = arr(spec['endpoints']);
    for (const sp of ports) {
      if (eps.length === 0 && resolution === 'DNS')
        endpoints.push({ hostname, servicePort: sp.port, address: hostname, port: sp.port, labels: {} });
      for (const e of eps) {
        const named = (e['ports'] as Record<string, number> | undefined)?.[sp.name];
        endpoints.push({
          hostname,
          servicePort: sp.port,
          address: String(e['address']),
          port: typeof named === 'number' ? named : sp.port,
          labels: (e['labels'] as Record<string, string> | undefined) ?? {},
          weight: typeof e['weight'] === 'number' ? e['weight'] : undefined,
          namespace: o.namespace,
        });
      }
    }
  }
  return { services, endpoints };
}

function ref(o: StoredObject): ConfigRef {
  return {
    name: o.name,
    namespace: o.namespace,
    spec: (o.object.spec ?? {}) as Obj,
    order: `${o.object.metadata.creationTimestamp ?? ''}|${o.namespace}/${o.name}`,
  };
}

/** Builds the snapshot for one push. */
export function buildPushContext(
  store: ConfigStore,
  mesh: MeshSettings,
  version: string,
  previous?: PushContext,
): PushContext {
  const suffix = mesh.domainSuffix;
  const pods: PodInfo[] = [];
  const podsByIp = new Map<string, PodInfo>();
  for (const o of store.list('Pod')) {
    const p = podInfo(o.object);
    if (p) {
      pods.push(p);
      podsByIp.set(p.ip, p);
    }
  }
  const services: Service[] = [];
  const endpoints = new Map<string, Endpoint[]>();
  const slices = new Map<string, StoredObject[]>();
  for (const o of store.list('EndpointSlice')) {
    const owner = o.object.metadata.labels?.['kubernetes.io/service-name'];
    if (!owner) continue;
    const k = `${o.namespace}/${owner}`;
    slices.set(k, [...(slices.get(k) ?? []), o]);
  }
  for (const o of store.list('Service')) {
    const svc = kubeService(o, suffix);
    services.push(svc);
    const ep = store.get(`Endpoints/${o.namespace}/${o.name}`);
    endpoints.set(
      svc.hostname,
      kubeEndpoints(svc, o.object, ep, pods, podsByIp, slices.get(`${o.namespace}/${o.name}`)),
    );
  }
  for (const o of store.list('ServiceEntry')) {
    const r = serviceEntryServices(o, suffix);
    for (const s of r.services) {
      services.push(s);
      endpoints.set(
        s.hostname,
        r.endpoints.filter((e) => e.hostname === s.hostname),
      );
    }
  }
  const servicesByHost = new Map<string, Service>();
  // Kubernetes services win over a ServiceEntry for the same host (registered first).
  for (const s of services) if (!servicesByHost.has(s.hostname)) servicesByHost.set(s.hostname, s);
  const uniqueServices = [...servicesByHost.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : 1));

  const destinationRules = new Map<string, ConfigRef>();
  const drs = store
    .list('DestinationRule')
    .map(ref)
    .sort((a, b) => (a.order < b.order ? -1 : 1));
  for (const dr of drs) {
    const host = fqdn(String(dr.spec['host']), dr.namespace, suffix);
    if (!destinationRules.has(host)) destinationRules.set(host, dr);
  }
  const byOrder = (a: ConfigRef, b: ConfigRef) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0);
  return {
    version,
    mesh,
    services: uniqueServices,
    servicesByHost,
    endpoints,
    virtualServices: store.list('VirtualService').map(ref).sort(byOrder),
    destinationRules,
    gateways: store.list('Gateway').map(ref).sort(byOrder),
    store,
    cache: new Map(),
    previous: previous?.next ?? new Map(),
    next: carryOver(previous),
    gen: (previous?.gen ?? 0) + 1,
  };
}

function carryOver(previous: PushContext | undefined): Map<string, Persisted> {
  const out = new Map<string, Persisted>();
  if (!previous) return out;
  for (const [k, p] of previous.next) if (p.gen > previous.gen - KEEP_GENERATIONS) out.set(k, p);
  return out;
}

/** The DestinationRule for a host; wildcard DR hosts (`*.example.com`) match too. */
export function destinationRuleFor(ctx: PushContext, hostname: string): ConfigRef | undefined {
  const exact = ctx.destinationRules.get(hostname);
  if (exact) return exact;
  let best: ConfigRef | undefined;
  let bestLen = -1;
  for (const [h, dr] of ctx.destinationRules)
    if (h.startsWith('*') && hostname.endsWith(h.slice(1)) && h.length > bestLen) {
      best = dr;
      bestLen = h.length;
    }
  return best;
}

/**
 * Like `cached`, but across pushes: when the previous push built `key` from
 * inputs with the same fingerprint, its object is reused (so its encoding,
 * cached by object, is reused too).
 */
export function stable<T>(ctx: PushContext, key: string, fingerprint: () => string, make: () => T): T {
  if (ctx.cache.has(key)) return ctx.cache.get(key) as T;
  const fp = fingerprint();
  const prev = ctx.previous.get(key);
  const value = prev && prev.fp === fp ? (prev.value as T) : make();
  ctx.cache.set(key, value);
  ctx.next.set(key, { fp, value, gen: ctx.gen });
  return value;
}

const ids = new WeakMap<object, number>();
let nextId = 0;

/** A stable identity number for an object (fingerprints of composites built from reused parts). */
export function identity(o: object): number {
  let id = ids.get(o);
  if (id === undefined) {
    id = ++nextId;
    ids.set(o, id);
  }
  return id;
}

/** Memoizes a per-push piece under `key`. */
export function cached<T>(ctx: PushContext, key: string, make: () => T): T {
  if (ctx.cache.has(key)) return ctx.cache.get(key) as T;
  const v = make();
  ctx.cache.set(key, v);
  return v;
}
