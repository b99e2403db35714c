/**
 * Kubernetes registry: informers (list + watch with resourceVersions; a
 * `410 Gone` makes the informer relist) on Services, Endpoints, Pods,
 * Namespaces and the Istio CRDs, written into the config store with the same
 * validation as the folder registry. A failed watch restarts with backoff.
 */
import { createRequire } from 'node:module';
import type { Informer, KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '@tsmesh/core';
import { pilotErrors } from '../../errors';
import { objectKey, type ConfigStore, type MeshObject } from '../../model/store';
import { validateObject } from '../../model/validate';

type K8s = typeof import('@kubernetes/client-node');
let k8s: K8s | undefined;

/**
 * @kubernetes/client-node 1.x is ESM-only; Node 20.19+ can require() it, but
 * Jest's module system cannot, so it is loaded with Node's own require.
 */
export function kubeClient(): K8s {
  k8s ??= createRequire(__filename)('@kubernetes/client-node') as K8s;
  return k8s;
}

export interface KubeResource {
  kind: string;
  path: string;
  list: () => Promise<KubernetesListObject<KubernetesObject>>;
}

export interface KubeRegistryOptions {
  store: ConfigStore;
  kubeConfig?: KubeConfig;
  log?: Logger;
  /** Restart delay after a watch error (ms). */
  retryMs?: number;
}

/** Istio CRDs Pilot watches: [kind, group, version, plural]. */
export const ISTIO_CRDS: readonly [string, string, string, string][] = [
  ['VirtualService', 'networking.istio.io', 'v1alpha3', 'virtualservices'],
  ['DestinationRule', 'networking.istio.io', 'v1alpha3', 'destinationrules'],
  ['Gateway', 'networking.istio.io', 'v1alpha3', 'gateways'],
  ['ServiceEntry', 'networking.istio.io', 'v1alpha3', 'serviceentries'],
  ['Policy', 'authentication.istio.io', 'v1alpha1', 'policies'],
  ['MeshPolicy', 'authentication.istio.io', 'v1alpha1', 'meshpolicies'],
  ['ServiceRole', 'rbac.istio.io', 'v1alpha1', 'serviceroles'],
  ['ServiceRoleBinding', 'rbac.istio.io', 'v1alpha1', 'servicerolebindings'],
  ['RbacConfig', 'rbac.istio.io', 'v1alpha1', 'rbacconfigs'],
  ['ClusterRbacConfig', 'rbac.istio.io', 'v1alpha1', 'clusterrbacconfigs'],
  ['Sidecar', 'networking.istio.io', 'v1alpha3', 'sidecars'],
  ['PeerAuthentication', 'security.istio.io', 'v1beta1', 'peerauthentications'],
  ['RequestAuthentication', 'security.istio.io', 'v1beta1', 'requestauthentications'],
  ['AuthorizationPolicy', 'security.istio.io', 'v1beta1', 'authorizationpolicies'],
  ['QuotaSpec', 'config.istio.io', 'v1alpha2', 'quotaspecs'],
  ['QuotaSpecBinding', 'config.istio.io', 'v1alpha2', 'quotaspecbindings'],
];

export class KubeRegistry {
  private readonly informers: Informer<KubernetesObject>[] = [];
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly opts: KubeRegistryOptions) {
    this.log = opts.log ?? silentLogger();
  }

  private kubeConfig(): KubeConfig {
    if (this.opts.kubeConfig) return this.opts.kubeConfig;
    const kc = new (kubeClient().KubeConfig)();
    try {
      kc.loadFromDefault();
    } catch (e) {
      throw pilotErrors.error('PILOT_ERR_KUBE', { detail: `cannot load kubeconfig: ${(e as Error).message}` });
    }
    return kc;
  }

  resources(kc: KubeConfig): KubeResource[] {
    const core = kc.makeApiClient(kubeClient().CoreV1Api);
    const custom = kc.makeApiClient(kubeClient().CustomObjectsApi);
    const out: KubeResource[] = [
      { kind: 'Service', path: '/api/v1/services', list: () => core.listServiceForAllNamespaces() },
      { kind: 'Endpoints', path: '/api/v1/endpoints', list: () => core.listEndpointsForAllNamespaces() },
      { kind: 'Pod', path: '/api/v1/pods', list: () => core.listPodForAllNamespaces() },
      { kind: 'Namespace', path: '/api/v1/namespaces', list: () => core.listNamespace() },
      {
        kind: 'EndpointSlice',
        path: '/apis/discovery.k8s.io/v1/endpointslices',
        list: () => kc.makeApiClient(kubeClient().DiscoveryV1Api).listEndpointSliceForAllNamespaces(),
      },
    ] as KubeResource[];
    for (const [kind, group, version, plural] of ISTIO_CRDS)
      out.push({
        kind,
        path: `/apis/${group}/${version}/${plural}`,
        list: () =>
          custom.listClusterCustomObject({ group, version, plural }) as Promise<KubernetesListObject<KubernetesObject>>,
      });
    return out;
  }

  /** Starts every informer and waits for the first list of each (failures are retried in the background). */
  async start(): Promise<void> {
    const kc = this.kubeConfig();
    const first: Promise<void>[] = [];
    for (const r of this.resources(kc)) {
      const informer = kubeClient().makeInformer(kc, r.path, r.list);
      const apply = (o: KubernetesObject) => this.upsert(r.kind, o);
      informer.on('add', apply);
      informer.on('update', apply);
      informer.on('delete', (o) =>
        this.opts.store.delete(
          objectKey(r.kind, r.kind === 'Namespace' ? '' : (o.metadata?.namespace ?? 'default'), o.metadata?.name ?? ''),
        ),
      );
      let failures = 0;
      informer.on('add', () => (failures = 0));
      informer.on('error', (err: unknown) => {
        if (this.stopped) return;
        failures++;
        // A CRD that is not installed fails every time: back off to 30 s and log it once.
        const delay = Math.min(30_000, (this.opts.retryMs ?? 1000) * 2 ** Math.min(failures - 1, 5));
        const fields = { kind: r.kind, err: String((err as Error)?.message ?? err), retryMs: delay };
        if (failures === 1) this.log.warn(fields, 'kube watch failed; restarting');
        else this.log.debug(fields, 'kube watch failed again');
        setTimeout(() => {
          if (!this.stopped) void informer.start().catch(() => undefined);
        }, delay).unref();
      });
      this.informers.push(informer);
      first.push(informer.start().catch((e) => this.log.warn({ kind: r.kind, err: String(e) }, 'kube list failed')));
    }
    await Promise.all(first);
  }

  stop(): void {
    this.stopped = true;
    for (const i of this.informers) void i.stop();
  }

  private upsert(kind: string, o: KubernetesObject): void {
    const obj = { ...(o as unknown as MeshObject), kind };
    const ns = kind === 'Namespace' ? '' : (obj.metadata?.namespace ?? 'default');
    const key = objectKey(kind, ns, obj.metadata?.name ?? '');
    const errors = validateObject(obj);
    if (errors.length > 0) {
      const err = pilotErrors.error(
        'PILOT_ERR_INVALID_CONFIG',
        { file: 'kube', kind, object: `${ns}/${obj.metadata?.name}` },
        errors,
      );
      this.opts.store.reject({
        key,
        kind,
        name: obj.metadata?.name ?? '',
        source: 'kube',
        error: err.message,
        fieldErrors: errors,
      });
      this.log.warn(
        { code: err.code, kind, object: `${ns}/${obj.metadata?.name}`, fieldErrors: errors },
        'config rejected',
      );
      return;
    }
    this.opts.store.upsert(obj, 'kube');
  }
}
