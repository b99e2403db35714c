/**
 * Reads the topology the local launcher runs from the same kustomizations
 * `kubectl apply -k` uses: `resources` are followed recursively (folders with a
 * kustomization.yaml, or YAML files), so kubectl is not needed at run time.
 * Only the plain `resources` list is supported (no patches or generators),
 * which is all k8s/ uses.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { cliErrors } from './errors';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}

function kustomizationFile(dir: string): string | null {
  for (const n of ['kustomization.yaml', 'kustomization.yml', 'Kustomization'])
    if (existsSync(join(dir, n))) return join(dir, n);
  return null;
}

export function parseYamlObjects(text: string, file: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
    const v = doc.toJS() as K8sObject | null;
    if (v && typeof v === 'object' && v.kind) out.push(v);
  }
  return out;
}

/** All objects of a kustomization directory (or a single YAML file), in order. */
export function loadKustomization(path: string, seen = new Set<string>()): K8sObject[] {
  const abs = resolve(path);
  if (seen.has(abs)) return [];
  seen.add(abs);
  try {
    if (statSync(abs).isFile()) return parseYamlObjects(readFileSync(abs, 'utf8'), abs);
    const k = kustomizationFile(abs);
    if (!k) throw new Error(`${abs} has no kustomization.yaml`);
    const doc = parseYamlObjects(readFileSync(k, 'utf8'), k)[0] as unknown as {
      resources?: string[];
      namespace?: string;
    };
    const objects = (doc?.resources ?? []).flatMap((r) => loadKustomization(join(dirname(k), r), seen));
    if (doc?.namespace) for (const o of objects) if (o.kind !== 'Namespace') o.metadata.namespace = doc.namespace;
    return objects;
  } catch (e) {
    if ((e as { code?: string }).code === 'CLI_ERR_MANIFESTS') throw e;
    throw cliErrors.error('CLI_ERR_MANIFESTS', { path, why: (e as Error).message });
  }
}
