import { parseDuration } from '@tsmesh/core';
import { meshConfigErrors, type MeshConfigErrorCode } from './errors';

/**
 * A small declarative field spec, one per Istio/Kubernetes message, so every
 * error is addressed by field path. `checkValue` walks a value against a spec,
 * collects every error, and returns a cleaned copy (snake_case keys turned to
 * the JSON camelCase names, invalid values dropped) so later semantic checks
 * can run safely on what is left.
 */
export type FieldSpec =
  | ({ type: 'string' } & Common)
  | ({ type: 'int'; min?: number; max?: number } & Common)
  | ({ type: 'number'; min?: number; max?: number } & Common)
  | ({ type: 'bool' } & Common)
  | ({ type: 'duration'; minMs?: number } & Common)
  | ({ type: 'enum'; values: readonly string[]; upper?: boolean } & Common)
  | ({ type: 'intOrString' } & Common)
  | ({ type: 'list'; of: FieldSpec } & Common)
  | ({ type: 'map'; of: FieldSpec } & Common)
  | ({
      type: 'object';
      fields: Record<string, FieldSpec>;
      required?: string[];
      oneOf?: string[];
      open?: boolean;
    } & Common)
  | ({ type: 'any' } & Common);

interface Common {
  /** Accepted with a warning carrying this text. */
  deprecated?: string;
}

export interface Issue {
  path: string;
  message: string;
  code?: MeshConfigErrorCode;
}

export interface Issues {
  errors: Issue[];
  warnings: Issue[];
}

export function issue(path: string, code: MeshConfigErrorCode, params: Record<string, unknown> = {}): Issue {
  return { path, code, message: meshConfigErrors.error(code, params).message };
}

// Constructors keep the schema tables short.
export const str = (): FieldSpec => ({ type: 'string' });
export const int = (min?: number, max?: number): FieldSpec => ({ type: 'int', min, max });
export const num = (min?: number, max?: number): FieldSpec => ({ type: 'number', min, max });
export const bool = (): FieldSpec => ({ type: 'bool' });
export const dur = (minMs?: number): FieldSpec => ({ type: 'duration', minMs });
export const enm = (...values: string[]): FieldSpec => ({ type: 'enum', values });
export const enmUpper = (...values: string[]): FieldSpec => ({ type: 'enum', values, upper: true });
export const intOrStr = (): FieldSpec => ({ type: 'intOrString' });
export const list = (of: FieldSpec): FieldSpec => ({ type: 'list', of });
export const map = (of: FieldSpec): FieldSpec => ({ type: 'map', of });
export const strList = (): FieldSpec => list(str());
export const strMap = (): FieldSpec => map(str());
export const any = (): FieldSpec => ({ type: 'any' });
export const obj = (
  fields: Record<string, FieldSpec>,
  opts: { required?: string[]; oneOf?: string[]; open?: boolean } = {},
): FieldSpec => ({ type: 'object', fields, ...opts });
export const deprecated = (spec: FieldSpec, note: string): FieldSpec => ({ ...spec, deprecated: note });

export function joinPath(path: string, field: string | number): string {
  if (typeof field === 'number') return `${path}[${field}]`;
  return path ? `${path}.${field}` : field;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

const INT_RE = /^-?\d+$/;
const NUM_RE = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** Checks `value` against `spec`; returns the cleaned value, or `undefined` when it was invalid. */
export function checkValue(spec: FieldSpec, value: unknown, path: string, out: Issues): unknown {
  if (spec.deprecated) out.warnings.push({ path, message: spec.deprecated });
  const wrong = (expected: string) => {
    out.errors.push(issue(path, 'MESH_CONFIG_ERR_WRONG_TYPE', { expected, actual: typeName(value) }));
    return undefined;
  };
  switch (spec.type) {
    case 'any':
      return value;
    case 'string':
      return typeof value === 'string' ? value : wrong('string');
    case 'bool':
      return typeof value === 'boolean' ? value : wrong('boolean');
    case 'int':
    case 'number': {
      let n: number | undefined;
      if (typeof value === 'number') n = value;
      else if (typeof value === 'string' && (spec.type === 'int' ? INT_RE : NUM_RE).test(value)) n = Number(value);
      if (n === undefined || !Number.isFinite(n)) return wrong(spec.type === 'int' ? 'integer' : 'number');
      if (spec.type === 'int' && !Number.isInteger(n)) return wrong('integer');
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        const range = spec.max === undefined ? `>= ${spec.min}` : `between ${spec.min ?? '-∞'} and ${spec.max}`;
        out.errors.push(issue(path, 'MESH_CONFIG_ERR_INVALID_VALUE', { detail: `must be ${range}, got ${n}` }));
        return undefined;
      }
      return n;
    }
    case 'intOrString':
      return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))
        ? value
        : wrong('integer or string');
    case 'duration': {
      if (typeof value !== 'string' && !(value && typeof value === 'object' && !Array.isArray(value))) {
        return wrong('duration string');
      }
      const ms = parseDuration(value);
      if (ms === null) {
        out.errors.push(issue(path, 'MESH_CONFIG_ERR_INVALID_DURATION', { value: JSON.stringify(value) }));
        return undefined;
      }
      if (spec.minMs !== undefined && ms < spec.minMs) {
        out.errors.push(
          issue(path, 'MESH_CONFIG_ERR_INVALID_DURATION', {
            value: `${JSON.stringify(value)} (minimum ${spec.minMs}ms)`,
          }),
        );
        return undefined;
      }
      return typeof value === 'string' ? value : `${ms / 1000}s`;
    }
    case 'enum': {
      if (typeof value !== 'string') return wrong(`one of ${spec.values.join(', ')}`);
      const v = spec.upper ? value.toUpperCase() : value;
      if (!spec.values.includes(v)) {
        out.errors.push(
          issue(path, 'MESH_CONFIG_ERR_INVALID_VALUE', {
            detail: `must be one of ${spec.values.join(', ')}, got ${JSON.stringify(value)}`,
          }),
        );
        return undefined;
      }
      return v;
    }
    case 'list': {
      if (!Array.isArray(value)) return wrong('list');
      const res: unknown[] = [];
      value.forEach((item, i) => {
        const c = checkValue(spec.of, item, joinPath(path, i), out);
        if (c !== undefined) res.push(c);
      });
      return res;
    }
    case 'map': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return wrong('map');
      const res: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const c = checkValue(spec.of, v, joinPath(path, k), out);
        if (c !== undefined) res[k] = c;
      }
      return res;
    }
    case 'object':
      return checkObject(spec, value, path, out);
  }
}

function checkObject(
  spec: Extract<FieldSpec, { type: 'object' }>,
  value: unknown,
  path: string,
  out: Issues,
): Record<string, unknown> | undefined {
  // `mtls:` with nothing after it is YAML null; proto JSON reads it as an empty message.
  if (value === null) value = {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    out.errors.push(issue(path, 'MESH_CONFIG_ERR_WRONG_TYPE', { expected: 'object', actual: typeName(value) }));
    return undefined;
  }
  const res: Record<string, unknown> = {};
  for (const [rawKey, v] of Object.entries(value as Record<string, unknown>)) {
    const p = joinPath(path, rawKey);
    const name = rawKey in spec.fields ? rawKey : camel(rawKey);
    const fieldSpec = spec.fields[name];
    if (!fieldSpec) {
      if (spec.open) res[rawKey] = v;
      else out.errors.push(unknownField(p, rawKey, Object.keys(spec.fields)));
      continue;
    }
    if (v === null && fieldSpec.type !== 'object' && fieldSpec.type !== 'any') continue;
    const c = checkValue(fieldSpec, v, p, out);
    if (c !== undefined) res[name] = c;
  }
  for (const r of spec.required ?? []) {
    // proto3: an empty string or list is the same as unset.
    const rawKey = Object.keys(value as object).find((k) => k === r || camel(k) === r);
    const raw = rawKey === undefined ? undefined : (value as Record<string, unknown>)[rawKey];
    const empty = raw === undefined || raw === null || raw === '' || (Array.isArray(raw) && raw.length === 0);
    if (empty) out.errors.push(issue(joinPath(path, r), 'MESH_CONFIG_ERR_MISSING_FIELD'));
  }
  if (spec.oneOf) {
    const set = spec.oneOf.filter((f) => f in res);
    if (set.length > 1) {
      out.errors.push(
        issue(path, 'MESH_CONFIG_ERR_INVALID_VALUE', { detail: `only one of ${spec.oneOf.join(', ')} may be set` }),
      );
    }
  }
  return res;
}

/** `unknown field "wieght" (did you mean "weight"?)` when a known field is a small edit away. */
export function unknownField(path: string, field: string, known: readonly string[]): Issue {
  const close = known
    .map((k) => ({ k, d: editDistance(field.toLowerCase(), k.toLowerCase()) }))
    .filter(({ d }) => d <= Math.min(2, Math.floor(field.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  const suggestion = close ? ` (did you mean ${JSON.stringify(close.k)}?)` : '';
  return issue(path, 'MESH_CONFIG_ERR_UNKNOWN_FIELD', { field: JSON.stringify(field), suggestion });
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}
