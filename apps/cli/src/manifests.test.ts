// k8s/overlays/demo is the one source of truth: kubectl's kustomize output is checked for a
// complete topology, and the launcher's own reader must see the same objects.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadKustomization, parseYamlObjects, type K8sObject } from './manifests';
import { buildTopology, podsOf, servicesOf } from './topology';

const ROOT = join(__dirname, '../../..');
const OVERLAY = join(ROOT, 'k8s/overlays/demo');
const viaKubectl = parseYamlObjects(
  execFileSync('kubectl', ['kustomize', OVERLAY], { encoding: 'utf8' }),
  'kubectl kustomize',
);
const keyOf = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

test('kubectl kustomize k8s/overlays/demo and the launcher reader see the same objects', () => {
  expect(loadKustomization(OVERLAY).map(keyOf).sort()).toEqual(viaKubectl.map(keyOf).sort());
});

test('every Deployment has labels app and version, a ServiceAccount, container ports and a Service', () => {
  const t = buildTopology(viaKubectl);
  const accounts = new Set(
    viaKubectl.filter((o) => o.kind === 'ServiceAccount').map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
  );
  expect(t.pods.length).toBe(20);
  for (const pod of t.pods) {
    expect([pod.name, pod.labels['app'] && pod.labels['version']]).toEqual([pod.name, expect.any(String)]);
    expect(accounts.has(`${pod.namespace}/${pod.serviceAccount}`)).toBe(true);
    expect(pod.container.ports.length).toBeGreaterThan(0);
    const svcs = servicesOf(t, pod);
    expect([pod.name, svcs.length > 0]).toEqual([pod.name, true]);
    for (const s of svcs)
      for (const p of s.ports)
        expect([pod.name, pod.container.ports.some((c) => c.containerPort === p.targetPort)]).toEqual([pod.name, true]);
  }
  for (const s of t.services) expect([s.name, podsOf(t, s).length > 0]).toEqual([s.name, true]);
});

test('control plane in istio-system with Istio 1.0 ports; gateway LoadBalancer 80→8080, 443→8443', () => {
  const t = buildTopology(viaKubectl);
  const svc = (name: string) => t.services.find((s) => s.name === name && s.namespace === 'istio-system');
  expect(svc('istio-pilot')?.ports.map((p) => p.port)).toEqual([15010, 15014]);
  expect(svc('istio-policy')?.ports.map((p) => p.port)).toContain(9091);
  expect(svc('istio-telemetry')?.ports.map((p) => p.port)).toEqual(expect.arrayContaining([9091, 42422]));
  expect(svc('istio-citadel')?.ports.map((p) => p.port)).toContain(8060);
  const gw = svc('istio-ingressgateway');
  expect(gw?.type).toBe('LoadBalancer');
  expect(gw?.ports.map((p) => [p.port, p.targetPort])).toEqual([
    [80, 8080],
    [443, 8443],
  ]);
  expect(t.pods.filter((p) => p.controlPlane).every((p) => p.container.image.startsWith('tsmesh/'))).toBe(true);
});

test("demo names, ports and labels match what the seeds' YAML expects", () => {
  const t = buildTopology(viaKubectl);
  const port = (name: string) => t.services.find((s) => s.name === name && s.namespace === 'default')?.ports[0].port;
  for (const s of ['productpage', 'details', 'reviews', 'ratings']) expect(port(s)).toBe(9080);
  for (const s of ['order', 'shipping', 'invoicing', 'bonus', 'home', 'book-service', 'rating'])
    expect(port(s)).toBe(8080);
  expect(t.pods.filter((p) => p.labels['app'] === 'reviews').map((p) => p.labels['version'])).toEqual([
    'v1',
    'v2',
    'v3',
  ]);
  const rating = t.pods.filter((p) => p.labels['app'] === 'rating');
  expect(rating.map((p) => [p.labels['version'], p.labels['app.kubernetes.io/version']])).toEqual([
    ['v1', 'v1.0.0'],
    ['v2', 'v2.0.0'],
  ]);
  expect(t.pods.find((p) => p.name === 'book-service')?.labels['app.kubernetes.io/name']).toBe('book-service');
  const ns = viaKubectl.find((o) => o.kind === 'Namespace' && o.metadata.name === 'default');
  expect(ns?.metadata.labels?.['istio-injection']).toBe('enabled');
});
