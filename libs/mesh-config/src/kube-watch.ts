/**
 * Kubernetes watches shared by Pilot's registry and Mixer's config source: `@kubernetes/client-node`
 * informers (list, then watch from the list's resourceVersion; a `410 Gone` makes the informer
 * relist and report what vanished as deletes). A failed watch restarts with exponential backoff
 * (capped at 30 s; the first failure is logged at warn, repeats at debug, so a CRD that is not
 * installed does not flood the log).
 */
import { createRequire } from 'node:module';
import type { Informer, KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '@tsmesh/core';

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

/** In-cluster service account, else `KUBECONFIG` / `~/.kube/config`. Throws with the loader's reason. */
export function loadKubeConfig(): KubeConfig {
  const kc = new (kubeClient().KubeConfig)();
  kc.loadFromDefault();
  return kc;
}

/**
 * One watched collection: the kind its objects get, the all-namespaces path, and its list call. A field
 * selector, when given, must be the one `list` sends too: the watch carries it so both see the same objects.
 */
export interface KubeResource {
  kind: string;
  path: string;
  list: () => Promise<KubernetesListObject<KubernetesObject>>;
  fieldSelector?: string;
}

/** `[kind, group, version, plural]` → watched custom resources (all namespaces). */
export function customResources(
  kc: KubeConfig,
  crds: readonly (readonly [string, string, string, string])[],
): KubeResource[] {
  const custom = kc.makeApiClient(kubeClient().CustomObjectsApi);
  return crds.map(([kind, group, version, plural]) => ({
    kind,
    path: `/apis/${group}/${version}/${plural}`,
    list: () =>
      custom.listClusterCustomObject({ group, version, plural }) as Promise<KubernetesListObject<KubernetesObject>>,
  }));
}

export interface KubeWatchHandlers {
  /** Added or modified (also every object of a relist). */
  upsert(kind: string, obj: KubernetesObject): void;
  remove(kind: string, obj: KubernetesObject): void;
}

export interface KubeWatchOptions {
  log?: Logger;
  /** First restart delay after a watch error (ms, default 1000). */
  retryMs?: number;
}

export class KubeWatch {
  private readonly informers: Informer<KubernetesObject>[] = [];
  private readonly log: Logger;
  private stopped = false;

  constructor(
    private readonly handlers: KubeWatchHandlers,
    private readonly opts: KubeWatchOptions = {},
  ) {
    this.log = opts.log ?? silentLogger();
  }

  /** Starts an informer per resource and waits for the first list of each (failures retry in the background). */
  async start(kc: KubeConfig, resources: readonly KubeResource[]): Promise<void> {
    const first: Promise<void>[] = [];
    for (const r of resources) {
      // makeInformer without its last arguments: it cannot pass a field selector on to the watch.
      const k = kubeClient();
      const informer = new k.ListWatch(r.path, new k.Watch(kc), r.list, false, undefined, r.fieldSelector);
      const upsert = (o: KubernetesObject) => this.handlers.upsert(r.kind, o);
      informer.on('add', upsert);
      informer.on('update', upsert);
      informer.on('delete', (o) => this.handlers.remove(r.kind, o));
      let failures = 0;
      informer.on('add', () => (failures = 0));
      informer.on('error', (err: unknown) => {
        if (this.stopped) return;
        failures++;
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
}
