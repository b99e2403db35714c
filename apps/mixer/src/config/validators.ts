/**
 * Mixer's detailed checks plugged into `@tsmesh/mesh-config`'s per-kind
 * validator hook, so `validate()` in this process rejects bad Mixer objects
 * with the same field paths Mixer itself reports (adapter params, expressions
 * type-checked against the vocabulary). Cross-object references are left to
 * Mixer's snapshot build, which sees every object.
 */
import { registerKindValidator, type ConfigObject, type Issue } from '@tsmesh/mesh-config';
import type { AdapterInfo } from '../runtime/types';
import { TEMPLATES } from '../templates/templates';
import { buildSnapshot } from './snapshot';

const REFERENCE_PATH = /^spec\.actions\[\d+\]\.(handler|instances\[\d+\])$/;

export function mixerIssues(obj: ConfigObject, adapters: ReadonlyMap<string, AdapterInfo>): Issue[] {
  const meta = obj.metadata ?? { name: '' };
  const snap = buildSnapshot({
    objects: [
      {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: meta.name ?? '',
        namespace: meta.namespace ?? 'default',
        spec: (obj.spec ?? {}) as Record<string, unknown>,
        file: obj.source?.file ?? '<input>',
        line: 1,
      },
    ],
    adapters,
  });
  return snap.issues.flatMap((i) => i.errors).filter((e) => !REFERENCE_PATH.test(e.path));
}

/** Registers validators for rule, handler/instance (generic and per-kind) and attributemanifest; returns an unregister function. */
export function registerMixerValidators(adapters: ReadonlyMap<string, AdapterInfo>): () => void {
  const kinds = ['rule', 'handler', 'instance', 'attributemanifest', ...adapters.keys(), ...Object.keys(TEMPLATES)];
  const removers = kinds.map((k) => registerKindValidator(k, (obj) => mixerIssues(obj, adapters)));
  return () => removers.forEach((r) => r());
}
