/**
 * Which Kubernetes Secrets Pilot keeps, and how much of them: only what a Gateway `credentialName` can use (Istio's
 * ingress SDS: `tls.crt`/`tls.key`/`ca.crt` of a `kubernetes.io/tls` Secret, or `cert`/`key`/`cacert` of a generic
 * one such as `<name>-cacert`). Service-account tokens and Secrets without certificate keys are not stored at all,
 * and kept Secrets lose every other key and their annotations (`kubectl apply` keeps a full copy of the object there).
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { MeshObject } from '@tsmesh/mesh-config';

/** Data keys Istio's secret fetcher reads for gateway credentials. */
export const CREDENTIAL_KEYS: readonly string[] = ['tls.crt', 'tls.key', 'ca.crt', 'cert', 'key', 'cacert'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

function pick(m: unknown): Obj | undefined {
  if (!isObj(m)) return undefined;
  const out: Obj = {};
  for (const k of CREDENTIAL_KEYS) if (typeof m[k] === 'string') out[k] = m[k];
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The part of a Secret the store keeps, or undefined when it holds no gateway credential. */
export function credentialSecret(o: KubernetesObject): MeshObject | undefined {
  const raw = o as unknown as Obj;
  const type = typeof raw['type'] === 'string' ? raw['type'] : 'Opaque';
  if (type === 'kubernetes.io/service-account-token') return undefined;
  const data = pick(raw['data']);
  const stringData = pick(raw['stringData']);
  if (!data && !stringData) return undefined;
  const meta = o.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    // No resourceVersion: a change to keys Pilot drops is no change (and no push).
    metadata: { name: meta.name ?? '', namespace: meta.namespace ?? 'default' },
    type,
    ...(data ? { data } : {}),
    ...(stringData ? { stringData } : {}),
  } as MeshObject;
}
