/**
 * Mixer config from Kubernetes CRDs (`--kube`): informers on `config.istio.io/v1alpha2`
 * (rule, handler, instance, attributemanifest, the client kinds QuotaSpec/QuotaSpecBinding/
 * HTTPAPISpec/HTTPAPISpecBinding, and one CRD per adapter and per template, Istio 1.0's per-kind
 * form: memquota, denier, metric, quota, …). The watch itself is @tsmesh/mesh-config's KubeWatch,
 * shared with Pilot (list, watch from the list's resourceVersion, relist on 410 Gone, backoff).
 * Objects are kept as RawObjects and handed to the same snapshot builder as the folder's, so
 * validation, field paths and "the last good version keeps serving" are the folder's too.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '@tsmesh/core';
import { customResources, KubeWatch, loadKubeConfig, pluralOf } from '@tsmesh/mesh-config';
import { mixerErrors } from '../errors';
import type { AdapterInfo } from '../runtime/types';
import { TEMPLATES } from '../templates/templates';
import { isObj, type RawObject } from './loader';

export const MIXER_CONFIG_GROUP = 'config.istio.io';
export const MIXER_CONFIG_VERSION = 'v1alpha2';

const GENERIC_KINDS = ['rule', 'handler', 'instance', 'attributemanifest'];
const CLIENT_KINDS = ['QuotaSpec', 'QuotaSpecBinding', 'HTTPAPISpec', 'HTTPAPISpecBinding'];

/** Every kind Mixer reads from Kubernetes: generic, client, per-adapter and per-template. */
export function mixerKubeKinds(adapters: ReadonlyMap<string, AdapterInfo>): string[] {
  return [...new Set([...GENERIC_KINDS, ...CLIENT_KINDS, ...adapters.keys(), ...Object.keys(TEMPLATES)])];
}

/** Where an object lives in the API server; its `file` in errors and /debug/config. */
export function kubeObjectPath(kind: string, namespace: string, name: string): string {
  return `kube:/apis/${MIXER_CONFIG_GROUP}/${MIXER_CONFIG_VERSION}/namespaces/${namespace}/${pluralOf(kind)}/${name}`;
}

/** A watched custom object → the loader's RawObject (kind from the CRD, namespace `default` when absent). */
export function rawFromKube(kind: string, o: KubernetesObject): RawObject {
  const obj = o as KubernetesObject & { spec?: unknown };
  const namespace = obj.metadata?.namespace || 'default';
  const name = obj.metadata?.name ?? '';
  return {
    apiVersion: obj.apiVersion ?? `${MIXER_CONFIG_GROUP}/${MIXER_CONFIG_VERSION}`,
    kind,
    name,
    namespace,
    spec: isObj(obj.spec) ? obj.spec : {},
    file: kubeObjectPath(kind, namespace, name),
    line: 0,
  };
}

export interface KubeSourceOptions {
  kinds: readonly string[];
  /** Called after every add, update or delete (the watcher debounces). */
  onChange: () => void;
  logger: Logger;
  kubeConfig?: KubeConfig;
  retryMs?: number;
}

export class KubeConfigSource {
  private readonly objects = new Map<string, RawObject>();
  private readonly watch: KubeWatch;
  /** Objects whose spec is not a map, by key: refused here, reported as load problems. */
  readonly malformed = new Map<string, { file: string; message: string }>();

  constructor(private readonly opts: KubeSourceOptions) {
    this.watch = new KubeWatch(
      {
        upsert: (kind, o) => {
          const raw = rawFromKube(kind, o);
          const key = `${kind}/${raw.namespace}/${raw.name}`;
          const spec = (o as { spec?: unknown }).spec;
          // a spec that is not a map is refused here; an earlier version of the object keeps serving
          if (spec !== undefined && spec !== null && !isObj(spec))
            this.malformed.set(key, {
              file: raw.file,
              message: `${kind} ${raw.namespace}/${raw.name}: spec: must be a map`,
            });
          else {
            this.malformed.delete(key);
            this.objects.set(key, raw);
          }
          opts.onChange();
        },
        remove: (kind, o) => {
          const key = `${kind}/${o.metadata?.namespace || 'default'}/${o.metadata?.name ?? ''}`;
          this.objects.delete(key);
          this.malformed.delete(key);
          opts.onChange();
        },
      },
      { log: opts.logger, retryMs: opts.retryMs },
    );
  }

  /** Loads the kubeconfig (in-cluster or KUBECONFIG) and waits for the first list of every kind. */
  async start(): Promise<void> {
    let kc = this.opts.kubeConfig;
    if (!kc) {
      try {
        kc = loadKubeConfig();
      } catch (e) {
        throw mixerErrors.error('MIXER_ERR_KUBE', { detail: `cannot load kubeconfig: ${(e as Error).message}` });
      }
    }
    const crds = this.opts.kinds.map(
      (k) => [k, MIXER_CONFIG_GROUP, MIXER_CONFIG_VERSION, pluralOf(k)] as [string, string, string, string],
    );
    await this.watch.start(kc, customResources(kc, crds));
  }

  stop(): void {
    this.watch.stop();
  }

  /** The current objects, in a stable order. */
  list(): RawObject[] {
    return [...this.objects.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }
}
