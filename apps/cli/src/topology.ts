/**
 * The local topology derived from the manifests: every Deployment becomes one
 * pod (a local process, plus its sidecar) on its own loopback address, every
 * Service maps its ports to the pods its selector picks. Control-plane
 * workloads (namespace istio-system) are recognised by image.
 */
import type { K8sObject } from './manifests';

export interface ContainerSpec {
  name: string;
  image: string;
  /**
   * `tsmesh/<project>` → the Nx project whose dist/apps/<project>/main.js runs it; a foreign image
   * with a local stand-in (`LOCAL_STAND_INS`) → that project; null for other foreign images.
   */
  project: string | null;
  /** Runs a local stand-in for a foreign image (e.g. PGlite for `postgres:16-alpine`). */
  standIn: boolean;
  env: Record<string, string>;
  args: string[];
  ports: { name?: string; containerPort: number }[];
}

export interface PodSpec {
  /** Deployment name: `reviews-v2`. */
  name: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
  container: ContainerSpec;
  /** Loopback address assigned to the pod. */
  ip: string;
  controlPlane: boolean;
}

export interface ServicePort {
  name: string;
  port: number;
  targetPort: number;
}

export interface ServiceSpec {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  selector: Record<string, string>;
  ports: ServicePort[];
  type: string;
}

export interface Topology {
  pods: PodSpec[];
  services: ServiceSpec[];
  objects: K8sObject[];
}

const str = (v: unknown, d = '') => (typeof v === 'string' ? v : v === undefined || v === null ? d : String(v));

/**
 * Foreign images the local launcher runs as one of our projects: the shop's `postgres` becomes one
 * embedded PGlite served over the Postgres protocol (`apps/shop/postgres`), so the services still
 * share one database with a schema each.
 */
export const LOCAL_STAND_INS: Record<string, string> = { postgres: 'shop-postgres' };

function containerOf(dep: K8sObject): ContainerSpec {
  const tmpl = (dep.spec?.['template'] ?? {}) as { spec?: { containers?: Record<string, unknown>[] } };
  const c = tmpl.spec?.containers?.[0] ?? {};
  const image = str(c['image']);
  const m = /^tsmesh\/([a-z0-9-]+)(?::.*)?$/.exec(image);
  const standIn = m
    ? undefined
    : LOCAL_STAND_INS[image.replace(/[:@].*$/, '').replace(/^(?:docker\.io\/)?(?:library\/)?/, '')];
  const env: Record<string, string> = {};
  for (const e of (c['env'] as { name: string; value?: unknown }[] | undefined) ?? [])
    if (e.value !== undefined) env[e.name] = str(e.value);
  return {
    name: str(c['name'], dep.metadata.name),
    image,
    project: m ? m[1] : (standIn ?? null),
    standIn: !!standIn,
    env,
    args: ((c['args'] as unknown[] | undefined) ?? []).map((a) => str(a)),
    ports: ((c['ports'] as { name?: string; containerPort: number }[] | undefined) ?? []).map((p) => ({
      name: p.name,
      containerPort: Number(p.containerPort),
    })),
  };
}

/** Pods get `<subnet>.<n>` starting at .10 (control plane) and .100 (workloads), in manifest order. */
export function buildTopology(objects: K8sObject[], subnet = '127.0.10'): Topology {
  const pods: PodSpec[] = [];
  let cp = 10;
  let wl = 100;
  for (const o of objects) {
    if (o.kind !== 'Deployment') continue;
    const ns = o.metadata.namespace ?? 'default';
    const tmpl = (o.spec?.['template'] ?? {}) as {
      metadata?: { labels?: Record<string, string> };
      spec?: { serviceAccountName?: string };
    };
    const controlPlane = ns === 'istio-system';
    pods.push({
      name: o.metadata.name,
      namespace: ns,
      labels: tmpl.metadata?.labels ?? o.metadata.labels ?? {},
      serviceAccount: tmpl.spec?.serviceAccountName ?? 'default',
      container: containerOf(o),
      ip: `${subnet}.${controlPlane ? cp++ : wl++}`,
      controlPlane,
    });
  }
  const services: ServiceSpec[] = objects
    .filter((o) => o.kind === 'Service')
    .map((o) => ({
      name: o.metadata.name,
      namespace: o.metadata.namespace ?? 'default',
      labels: o.metadata.labels ?? {},
      selector: (o.spec?.['selector'] as Record<string, string> | undefined) ?? {},
      type: str(o.spec?.['type'], 'ClusterIP'),
      ports: (
        (o.spec?.['ports'] as { name?: string; port: number; targetPort?: number | string }[] | undefined) ?? []
      ).map((p) => ({
        name: str(p.name, `port-${p.port}`),
        port: Number(p.port),
        targetPort: typeof p.targetPort === 'number' ? p.targetPort : Number(p.targetPort ?? p.port) || Number(p.port),
      })),
    }));
  return { pods, services, objects };
}

export function selects(svc: ServiceSpec, pod: PodSpec): boolean {
  if (svc.namespace !== pod.namespace) return false;
  const entries = Object.entries(svc.selector);
  return entries.length > 0 && entries.every(([k, v]) => pod.labels[k] === v);
}

export function podsOf(t: Topology, svc: ServiceSpec): PodSpec[] {
  return t.pods.filter((p) => selects(svc, p));
}

export function servicesOf(t: Topology, pod: PodSpec): ServiceSpec[] {
  return t.services.filter((s) => selects(s, pod));
}

/** `<name>.<ns>.svc.cluster.local` */
export function fqdn(s: { name: string; namespace: string }, domain = 'cluster.local'): string {
  return `${s.name}.${s.namespace}.svc.${domain}`;
}
