/** Bookinfo in the folder-registry format, for generation tests. */
import { ConfigStore } from '@tsmesh/mesh-config';
import { defaultMeshSettings, type MeshSettings } from '../model/mesh';
import { parseNode, type Proxy } from '../model/proxy';
import { buildPushContext, type PushContext } from '../model/push-context';
import { applyFile } from '../registry/apply';

function svc(name: string, ip: string): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default, labels: {app: ${name}}}
spec:
  clusterIP: ${ip}
  selector: {app: ${name}}
  ports: [{name: http, port: 9080, targetPort: 9080}]
`;
}

function pod(name: string, app: string, version: string, ip: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default, labels: {app: ${app}, version: ${version}}}
spec:
  serviceAccountName: bookinfo-${app}
  containers: [{name: ${app}, ports: [{name: http, containerPort: 9080}]}]
status: {phase: Running, podIP: ${ip}}
`;
}

export const BOOKINFO_YAML = [
  svc('productpage', '10.96.0.10'),
  svc('details', '10.96.0.11'),
  svc('reviews', '10.96.0.12'),
  svc('ratings', '10.96.0.13'),
  pod('productpage-v1-abc', 'productpage', 'v1', '10.1.0.10'),
  pod('details-v1-abc', 'details', 'v1', '10.1.0.11'),
  pod('reviews-v1-abc', 'reviews', 'v1', '10.1.0.21'),
  pod('reviews-v2-abc', 'reviews', 'v2', '10.1.0.22'),
  pod('reviews-v3-abc', 'reviews', 'v3', '10.1.0.23'),
  pod('ratings-v1-abc', 'ratings', 'v1', '10.1.0.31'),
].join('---\n');

export const REVIEWS_DR = `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
`;

/** A store loaded with `docs` (one YAML text per pseudo-file). */
export function storeFrom(...docs: string[]): ConfigStore {
  const store = new ConfigStore();
  docs.forEach((d, i) => {
    const r = applyFile(store, `test-${i}.yaml`, d);
    if (r.fileError || r.rejected > 0)
      throw new Error(`fixture ${i} rejected: ${JSON.stringify(store.listRejections())}`);
  });
  return store;
}

export function contextFrom(docs: string[], mesh: Partial<MeshSettings> = {}): PushContext {
  return buildPushContext(storeFrom(...docs), { ...defaultMeshSettings(), ...mesh }, 'test-1');
}

export function sidecar(
  ip: string,
  pod: string,
  labels: Record<string, string> = {},
  ns = 'default',
  meta: Record<string, unknown> = {},
): Proxy {
  return parseNode({ id: `sidecar~${ip}~${pod}.${ns}~${ns}.svc.cluster.local`, metadata: { LABELS: labels, ...meta } });
}

/** productpage's sidecar. */
export const productpage = (): Proxy =>
  sidecar('10.1.0.10', 'productpage-v1-abc', { app: 'productpage', version: 'v1' });
