/**
 * Compiles instance params (a template's fields written as expressions) once
 * per config change into a builder that runs per request.
 */
import {
  compileExpression,
  type AttributeValue,
  type Bag,
  type CompiledExpression,
  type Manifest,
  type ValueType,
} from '@tsmesh/attributes';
import type { FieldError } from '@tsmesh/core';
import type { Instance } from '../runtime/types';
import { snakeCase, type TemplateInfo } from '../templates/templates';
import { isObj } from './loader';

export interface CompiledInstance {
  fqn: string;
  template: TemplateInfo;
  /** Throws EvalError when a needed attribute is missing. */
  build(bag: Bag): Instance;
}

type FieldBuilder = (bag: Bag) => AttributeValue | Record<string, AttributeValue>;

function exprText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

export function compileInstance(
  fqn: string,
  template: TemplateInfo,
  params: Record<string, unknown>,
  manifest: Manifest,
  pathPrefix: string,
  errors: FieldError[],
): CompiledInstance {
  const builders: Array<[string, FieldBuilder]> = [];
  const types: Record<string, ValueType> = {};
  const compileOne = (text: string, path: string): CompiledExpression | null => {
    try {
      return compileExpression(text, { manifest });
    } catch (e) {
      errors.push({ path, message: (e as Error).message });
      return null;
    }
  };
  const seen = new Set<string>();
  for (const [rawKey, value] of Object.entries(params)) {
    const key = snakeCase(rawKey);
    const path = `${pathPrefix}.${rawKey}`;
    const kind = template.fields[key];
    if (!kind) {
      errors.push({ path, message: `unknown field for template ${template.name}` });
      continue;
    }
    seen.add(key);
    if (kind === 'map') {
      if (!isObj(value)) {
        errors.push({ path, message: 'must be a map of name: expression' });
        continue;
      }
      const entries: Array<[string, CompiledExpression]> = [];
      for (const [k, v] of Object.entries(value)) {
        const text = exprText(v);
        if (text === null) {
          errors.push({ path: `${path}.${k}`, message: 'must be an expression (string)' });
          continue;
        }
        const c = compileOne(text, `${path}.${k}`);
        if (c) {
          entries.push([k, c]);
          types[`${key}.${k}`] = c.type;
        }
      }
      builders.push([
        key,
        (bag) => {
          const out: Record<string, AttributeValue> = {};
          for (const [k, c] of entries) out[k] = c.evaluate(bag);
          return out;
        },
      ]);
      continue;
    }
    const text = exprText(value);
    if (text === null) {
      errors.push({ path, message: 'must be an expression (string)' });
      continue;
    }
    const c = compileOne(text, path);
    if (c) {
      builders.push([key, (bag) => c.evaluate(bag)]);
      types[key] = c.type;
    }
  }
  for (const r of template.required ?? []) {
    if (!seen.has(r)) errors.push({ path: `${pathPrefix}.${r}`, message: `required by template ${template.name}` });
  }
  return {
    fqn,
    template,
    build(bag) {
      const fields: Instance['fields'] = {};
      for (const [k, b] of builders) fields[k] = b(bag);
      return { name: fqn, template: template.name, fields, types };
    },
  };
}
