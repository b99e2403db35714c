/**
 * Kubernetes registry: informers (list + watch with resourceVersions; a
 * `410 Gone` makes the informer relist) on Services, Endpoints, Pods,
 * Namespaces, Secrets (gateway credentials only) and the Istio CRDs, written into the config store with the same
 * validation as the folder registry. A failed watch restarts with backoff.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '@tsmesh/core';
import {
  applyObject,
  customResources,
  kubeClient,
  KubeWatch,
  loadKubeConfig,
  storeKey,
  type ConfigStore,
  type KubeResource,
  type MeshObject,
} from '@tsmesh/mesh-config';
import { pilotErrors } from '../../errors';
import { pilotApplyOptions } from '../apply';
import { credentialSecret } from './tls-secret';

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

/** Secret types no gateway credential has. */
export const SECRET_FIELD_SELECTOR = 'type!=helm.sh/release.v1,type!=kubernetes.io/service-account-token';

export class KubeRegistry {
  private readonly log: Logger;
  private readonly watch: KubeWatch;

  constructor(private readonly opts: KubeRegistryOptions) {
    this.log = opts.log ?? silentLogger();
    this.watch = new KubeWatch(
      {
        upsert: (kind, o) => this.upsert(kind, o),
        remove: (kind, o) => this.opts.store.delete(storeKey(kind, o.metadata?.namespace, o.metadata?.name ?? '')),
      },
      { log: this.log, retryMs: opts.retryMs },
    );
  }

  private kubeConfig(): KubeConfig {
    if (this.opts.kubeConfig) return this.opts.kubeConfig;
    try {
      return loadKubeConfig();
    } catch (e) {
      throw pilotErrors.error('PILOT_ERR_KUBE', { detail: `cannot load kubeconfig: ${(e as Error).message}` });
    }
  }

  resources(kc: KubeConfig): KubeResource[] {
    const core = kc.makeApiClient(kubeClient().CoreV1Api);
    const out: KubeResource[] = [
      { kind: 'Service', path: '/api/v1/services', list: () => core.listServiceForAllNamespaces() },
      { kind: 'Endpoints', path: '/api/v1/endpoints', list: () => core.listEndpointsForAllNamespaces() },
      { kind: 'Pod', path: '/api/v1/pods', list: () => core.listPodForAllNamespaces() },
      { kind: 'Namespace', path: '/api/v1/namespaces', list: () => core.listNamespace() },
      // Gateway credentialName (SDS); only credential keys are kept (tls-secret.ts). Service-account tokens and
      // Helm releases (often MBs each) are left on the API server, as Istio's credentials controller does.
      {
        kind: 'Secret',
        path: '/api/v1/secrets',
        fieldSelector: SECRET_FIELD_SELECTOR,
        list: () => core.listSecretForAllNamespaces({ fieldSelector: SECRET_FIELD_SELECTOR }),
      },
      {
        kind: 'EndpointSlice',
        path: '/apis/discovery.k8s.io/v1/endpointslices',
        list: () => kc.makeApiClient(kubeClient().DiscoveryV1Api).listEndpointSliceForAllNamespaces(),
      },
    ] as KubeResource[];
    out.push(...customResources(kc, ISTIO_CRDS));
    return out;
  }

  /** Starts every informer and waits for the first list of each (failures are retried in the background). */
  async start(): Promise<void> {
    const kc = this.kubeConfig();
    await this.watch.start(kc, this.resources(kc));
  }

  stop(): void {
    this.watch.stop();
  }

  private upsert(kind: string, o: KubernetesObject): void {
    const obj = kind === 'Secret' ? credentialSecret(o) : { ...(o as unknown as MeshObject), kind };
    if (!obj) {
      // Not (or no longer) a gateway credential: nothing of it is kept.
      this.opts.store.delete(storeKey(kind, o.metadata?.namespace, o.metadata?.name ?? ''));
      return;
    }
    applyObject(this.opts.store, obj, 'kube', pilotApplyOptions(this.log));
  }
}
