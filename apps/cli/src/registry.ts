/**
 * The launcher's service registry, written as Kubernetes objects (Namespace,
 * Service, Endpoints, Pod) into Pilot's `--config-dir`, the same shapes Pilot
 * reads from the Kubernetes API. Endpoints list only pods that run.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { podName } from './plan';
import { podsOf, type PodSpec, type Topology } from './topology';

export const REGISTRY_PREFIX = 'registry.';

export function registryObjects(t: Topology, running: PodSpec[]): Record<string, unknown>[] {
  const runningNames = new Set(running.map((p) => `${p.namespace}/${p.name}`));
  const out: Record<string, unknown>[] = [];
  for (const ns of t.objects.filter((o) => o.kind === 'Namespace'))
    out.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns.metadata.name, labels: ns.metadata.labels ?? {} },
    });
  for (const s of t.services) {
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: s.name, namespace: s.namespace, labels: s.labels },
      spec: {
        type: s.type,
        selector: s.selector,
        ports: s.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: 'TCP' })),
      },
    });
    const pods = podsOf(t, s).filter((p) => runningNames.has(`${p.namespace}/${p.name}`));
    out.push({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: s.name, namespace: s.namespace, labels: s.labels },
      subsets: pods.length
        ? [
            {
              addresses: pods.map((p) => ({
                ip: p.ip,
                targetRef: { kind: 'Pod', name: podName(p.name), namespace: p.namespace },
              })),
              ports: s.ports.map((p) => ({ name: p.name, port: p.targetPort, protocol: 'TCP' })),
            },
          ]
        : [],
    });
  }
  for (const p of running)
    out.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: podName(p.name), namespace: p.namespace, labels: p.labels },
      spec: {
        serviceAccountName: p.serviceAccount,
        containers: [{ name: p.container.name, image: p.container.image, ports: p.container.ports }],
      },
      status: { phase: 'Running', podIP: p.ip, conditions: [{ type: 'Ready', status: 'True' }] },
    });
  return out;
}

function fileName(o: Record<string, unknown>): string {
  const m = o['metadata'] as { name: string; namespace?: string };
  return `${REGISTRY_PREFIX}${o['kind']}.${m.namespace ?? '_cluster'}.${m.name}.yaml`;
}

/** Replaces the registry files in `dir` (applied Istio config next to them is left alone). */
export function writeRegistry(dir: string, objects: Record<string, unknown>[]): void {
  mkdirSync(dir, { recursive: true });
  const wanted = new Set(objects.map(fileName));
  for (const f of readdirSync(dir)) if (f.startsWith(REGISTRY_PREFIX) && !wanted.has(f)) rmSync(join(dir, f));
  for (const o of objects) {
    const file = join(dir, fileName(o));
    writeFileSync(`${file}.tmp`, stringify(o));
    renameSync(`${file}.tmp`, file);
  }
}

export function clearRegistry(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) if (f.startsWith(REGISTRY_PREFIX)) rmSync(join(dir, f));
}
