/**
 * Turns config objects into one immutable snapshot the dispatcher serves:
 * attribute manifests, handlers (per-kind `kind: denier` or generic `kind:
 * handler` + `compiledAdapter`), instances (per-kind `kind: quota` or generic
 * `kind: instance` + `compiledTemplate`), rules. Each object is checked on its
 * own; a bad one is reported with field paths and, when an earlier version was
 * good, that version keeps serving.
 */
import {
  compileExpression,
  extendManifest,
  isValueType,
  ISTIO_MANIFEST,
  type CompiledExpression,
  type Manifest,
  type ValueType,
} from '@tsmesh/attributes';
import type { FieldError } from '@tsmesh/core';
import type { AdapterInfo } from '../runtime/types';
import { TEMPLATES, type TemplateInfo } from '../templates/templates';
import { compileInstance, KeptValues, type CompiledInstance, type SharedBuilders } from './instances';
import { isObj, type RawObject } from './loader';

export interface HandlerConfig {
  fqn: string;
  adapter: AdapterInfo;
  params: Record<string, unknown>;
  /** Same adapter + params ⇒ the built handler (and its state) is reused across snapshots. */
  key: string;
}

export interface RuleAction {
  handler: HandlerConfig;
  instances: CompiledInstance[];
}

export interface CompiledRule {
  fqn: string;
  namespace: string;
  match: CompiledExpression | null;
  actions: RuleAction[];
}

export interface ConfigIssue {
  file: string;
  line: number;
  kind: string;
  namespace: string;
  name: string;
  errors: FieldError[];
}

export interface Snapshot {
  manifest: Manifest;
  handlers: Map<string, HandlerConfig>;
  instances: Map<string, CompiledInstance>;
  /** What the instances' builds may keep between Report entries (see KeptValues). */
  kept: KeptValues;
  rules: CompiledRule[];
  /** QuotaSpec, QuotaSpecBinding, HTTPAPISpec(+Binding): accepted for the proxy side, not used by Mixer. */
  clientObjects: RawObject[];
  issues: ConfigIssue[];
  /** Raw objects that compiled, by kind/namespace/name; the fallback for the next change. */
  good: Map<string, RawObject>;
}

const CLIENT_KINDS = new Set(['QuotaSpec', 'QuotaSpecBinding', 'HTTPAPISpec', 'HTTPAPISpecBinding']);
const objKey = (o: RawObject) => `${o.kind}/${o.namespace}/${o.name}`;

export interface SnapshotInput {
  objects: RawObject[];
  adapters: ReadonlyMap<string, AdapterInfo>;
  previousGood?: ReadonlyMap<string, RawObject>;
}

export function buildSnapshot(input: SnapshotInput): Snapshot {
  const { adapters } = input;
  const issues: ConfigIssue[] = [];
  const good = new Map<string, RawObject>();
  const current = new Map<string, RawObject>();
  for (const o of input.objects) current.set(objKey(o), o);

  /** Runs `check` on the object; on errors falls back to its previous good version. */
  function accept<T>(o: RawObject, check: (o: RawObject, errors: FieldError[]) => T): T | null {
    const errors: FieldError[] = [];
    if (!o.name) errors.push({ path: 'metadata.name', message: 'required' });
    const result = errors.length ? null : check(o, errors);
    if (errors.length === 0 && result !== null) {
      good.set(objKey(o), o);
      return result;
    }
    issues.push({ file: o.file, line: o.line, kind: o.kind, namespace: o.namespace, name: o.name, errors });
    const prev = input.previousGood?.get(objKey(o));
    if (prev && prev !== o) {
      const again: FieldError[] = [];
      const r = check(prev, again);
      if (again.length === 0 && r !== null) {
        good.set(objKey(prev), prev);
        return r;
      }
    }
    return null;
  }

  const byKind = (pred: (o: RawObject) => boolean) => [...current.values()].filter(pred);

  // 1. attribute manifests
  let manifest: Manifest = ISTIO_MANIFEST;
  for (const o of byKind((x) => x.kind === 'attributemanifest')) {
    const extra = accept(o, (obj, errors) => {
      const attrs = obj.spec['attributes'];
      const out: Record<string, ValueType> = {};
      if (attrs !== undefined && !isObj(attrs)) errors.push({ path: 'spec.attributes', message: 'must be a map' });
      for (const [name, def] of Object.entries(isObj(attrs) ? attrs : {})) {
        const vt = isObj(def) ? (def['valueType'] ?? def['value_type']) : undefined;
        if (typeof vt !== 'string' || !isValueType(vt))
          errors.push({
            path: `spec.attributes.${name}.valueType`,
            message: `must be one of the value types (STRING, INT64, …)`,
          });
        else out[name] = vt;
      }
      return out;
    });
    if (extra) manifest = extendManifest(manifest, extra);
  }

  // 2. handlers
  const handlers = new Map<string, HandlerConfig>();
  for (const o of byKind((x) => x.kind === 'handler' || adapters.has(x.kind))) {
    const h = accept(o, (obj, errors) => {
      let adapter: AdapterInfo | undefined;
      let params: Record<string, unknown>;
      let prefix: string;
      if (obj.kind === 'handler') {
        const name = obj.spec['compiledAdapter'] ?? obj.spec['adapter'];
        adapter = typeof name === 'string' ? adapters.get(name) : undefined;
        if (!adapter) {
          errors.push({
            path: 'spec.compiledAdapter',
            message: `unknown adapter ${JSON.stringify(name)} (known: ${[...adapters.keys()].join(', ')})`,
          });
          return null;
        }
        const p = obj.spec['params'] ?? {};
        if (!isObj(p)) {
          errors.push({ path: 'spec.params', message: 'must be a map' });
          return null;
        }
        params = p;
        prefix = 'spec.params';
      } else {
        adapter = adapters.get(obj.kind) as AdapterInfo;
        params = obj.spec;
        prefix = 'spec';
      }
      for (const e of adapter.validate(params))
        errors.push({ path: e.path ? `${prefix}.${e.path}` : prefix, message: e.message });
      const fqn = `${obj.name}.${obj.kind}.${obj.namespace}`;
      return { fqn, adapter, params, key: `${adapter.name}:${JSON.stringify(params)}` };
    });
    if (h) handlers.set(h.fqn, h);
  }

  // 3. instances
  const instances = new Map<string, CompiledInstance>();
  // instances that compute the same map (the standard metrics' dimensions) share its builder
  const sharedBuilders: SharedBuilders = new Map();
  const kept = new KeptValues();
  for (const o of byKind((x) => x.kind === 'instance' || x.kind in TEMPLATES)) {
    const inst = accept(o, (obj, errors) => {
      let template: TemplateInfo | undefined;
      let params: Record<string, unknown>;
      let prefix: string;
      if (obj.kind === 'instance') {
        const name = obj.spec['compiledTemplate'] ?? obj.spec['template'];
        template = typeof name === 'string' ? TEMPLATES[name] : undefined;
        if (!template) {
          errors.push({
            path: 'spec.compiledTemplate',
            message: `unknown template ${JSON.stringify(name)} (known: ${Object.keys(TEMPLATES).join(', ')})`,
          });
          return null;
        }
        const p = obj.spec['params'] ?? {};
        if (!isObj(p)) {
          errors.push({ path: 'spec.params', message: 'must be a map' });
          return null;
        }
        params = p;
        prefix = 'spec.params';
      } else {
        template = TEMPLATES[obj.kind];
        params = obj.spec;
        prefix = 'spec';
      }
      return compileInstance(
        `${obj.name}.${obj.kind}.${obj.namespace}`,
        template,
        params,
        manifest,
        prefix,
        errors,
        sharedBuilders,
        kept,
      );
    });
    if (inst) instances.set(inst.fqn, inst);
  }

  // 4. rules
  const rules: CompiledRule[] = [];
  for (const o of byKind((x) => x.kind === 'rule')) {
    const r = accept(o, (obj, errors) => compileRule(obj, errors, manifest, handlers, instances));
    if (r) rules.push(r);
  }

  // 5. client-side kinds and unknown kinds
  const clientObjects: RawObject[] = [];
  for (const o of byKind((x) => CLIENT_KINDS.has(x.kind))) {
    const c = accept(o, (obj, errors) => {
      checkClientKind(obj, errors);
      return obj;
    });
    if (c) clientObjects.push(c);
  }
  const known = (k: string) =>
    k === 'attributemanifest' ||
    k === 'handler' ||
    k === 'instance' ||
    k === 'rule' ||
    adapters.has(k) ||
    k in TEMPLATES ||
    CLIENT_KINDS.has(k);
  for (const o of byKind((x) => !known(x.kind))) {
    issues.push({
      file: o.file,
      line: o.line,
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      errors: [{ path: 'kind', message: `unknown kind ${o.kind} for Mixer` }],
    });
  }
  return { manifest, handlers, instances, kept, rules, clientObjects, issues, good };
}

/** `name`, `name.kind` or `name.kind.namespace`, resolved in the rule's namespace. */
export function resolveRef<T extends { fqn: string }>(
  ref: string,
  namespace: string,
  table: ReadonlyMap<string, T>,
): T | undefined {
  const parts = ref.split('.');
  if (parts.length >= 3) return table.get(ref);
  if (parts.length === 2) return table.get(`${ref}.${namespace}`);
  const hits = [...table.values()].filter(
    (v) => v.fqn.startsWith(`${ref}.`) && v.fqn.endsWith(`.${namespace}`) && v.fqn.split('.').length === 3,
  );
  return hits.length === 1 ? hits[0] : undefined;
}

function compileRule(
  obj: RawObject,
  errors: FieldError[],
  manifest: Manifest,
  handlers: ReadonlyMap<string, HandlerConfig>,
  instances: ReadonlyMap<string, CompiledInstance>,
): CompiledRule | null {
  let match: CompiledExpression | null = null;
  const m = obj.spec['match'];
  if (m !== undefined && m !== '' && m !== null) {
    if (typeof m !== 'string') errors.push({ path: 'spec.match', message: 'must be an expression (string)' });
    else {
      try {
        match = compileExpression(m, { manifest, expect: 'BOOL' });
      } catch (e) {
        errors.push({ path: 'spec.match', message: (e as Error).message });
      }
    }
  }
  const actions: RuleAction[] = [];
  const rawActions = obj.spec['actions'] ?? [];
  if (!Array.isArray(rawActions)) errors.push({ path: 'spec.actions', message: 'must be a list' });
  (Array.isArray(rawActions) ? rawActions : []).forEach((a: unknown, i) => {
    const path = `spec.actions[${i}]`;
    if (!isObj(a)) {
      errors.push({ path, message: 'must be a map with handler and instances' });
      return;
    }
    const href = a['handler'];
    const handler = typeof href === 'string' ? resolveRef(href, obj.namespace, handlers) : undefined;
    if (!handler) {
      errors.push({
        path: `${path}.handler`,
        message: `handler ${JSON.stringify(href)} not found in namespace ${obj.namespace}`,
      });
      return;
    }
    const insts: CompiledInstance[] = [];
    const refs = a['instances'];
    if (!Array.isArray(refs) || refs.length === 0)
      errors.push({ path: `${path}.instances`, message: 'must list at least one instance' });
    (Array.isArray(refs) ? refs : []).forEach((ref: unknown, j) => {
      const inst = typeof ref === 'string' ? resolveRef(ref, obj.namespace, instances) : undefined;
      if (!inst) {
        errors.push({
          path: `${path}.instances[${j}]`,
          message: `instance ${JSON.stringify(ref)} not found in namespace ${obj.namespace}`,
        });
        return;
      }
      if (!handler.adapter.templates.includes(inst.template.name)) {
        errors.push({
          path: `${path}.instances[${j}]`,
          message: `adapter ${handler.adapter.name} does not accept template ${inst.template.name} (accepts ${handler.adapter.templates.join(', ')})`,
        });
        return;
      }
      insts.push(inst);
    });
    actions.push({ handler, instances: insts });
  });
  void manifest;
  return { fqn: `${obj.name}.rule.${obj.namespace}`, namespace: obj.namespace, match, actions };
}

function checkClientKind(obj: RawObject, errors: FieldError[]): void {
  if (obj.kind === 'QuotaSpec') {
    const rules = obj.spec['rules'];
    if (!Array.isArray(rules)) {
      errors.push({ path: 'spec.rules', message: 'must be a list' });
      return;
    }
    rules.forEach((r: unknown, i) => {
      const quotas = isObj(r) ? r['quotas'] : undefined;
      if (!Array.isArray(quotas)) {
        errors.push({ path: `spec.rules[${i}].quotas`, message: 'must be a list' });
        return;
      }
      quotas.forEach((q: unknown, j) => {
        if (!isObj(q) || typeof q['quota'] !== 'string' || q['quota'] === '')
          errors.push({ path: `spec.rules[${i}].quotas[${j}].quota`, message: 'required' });
        const charge = isObj(q) ? q['charge'] : undefined;
        if (charge !== undefined && !(Number.isInteger(Number(charge)) && Number(charge) >= 0))
          errors.push({ path: `spec.rules[${i}].quotas[${j}].charge`, message: 'must be a non-negative integer' });
      });
    });
  }
  if (obj.kind === 'QuotaSpecBinding' || obj.kind === 'HTTPAPISpecBinding') {
    const services = obj.spec['services'];
    if (!Array.isArray(services) || services.length === 0)
      errors.push({ path: 'spec.services', message: 'must list at least one service' });
    const refsField = obj.kind === 'QuotaSpecBinding' ? 'quotaSpecs' : 'apiSpecs';
    const refs = obj.spec[refsField] ?? obj.spec[refsField === 'quotaSpecs' ? 'quota_specs' : 'api_specs'];
    if (!Array.isArray(refs) || refs.length === 0)
      errors.push({ path: `spec.${refsField}`, message: 'must list at least one reference' });
  }
}
