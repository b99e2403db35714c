/** Small readers for adapter params: YAML of the 1.0 samples mixes camelCase and snake_case. */
import { parseDuration, type FieldError } from '@tsmesh/core';

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function pick(params: Record<string, unknown>, name: string): unknown {
  if (name in params) return params[name];
  const s = snake(name);
  return s in params ? params[s] : undefined;
}

export class ParamReader {
  readonly errors: FieldError[] = [];
  constructor(
    private readonly params: Record<string, unknown>,
    private readonly prefix = '',
  ) {}
  private path(name: string) {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }
  raw(name: string): unknown {
    return pick(this.params, name);
  }
  string(name: string, def = ''): string {
    const v = this.raw(name);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string') this.errors.push({ path: this.path(name), message: 'must be a string' });
    return String(v);
  }
  int(name: string, def: number, min = 0): number {
    const v = this.raw(name);
    if (v === undefined || v === null) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      this.errors.push({ path: this.path(name), message: `must be an integer >= ${min}` });
      return def;
    }
    return n;
  }
  bool(name: string, def: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') this.errors.push({ path: this.path(name), message: 'must be true or false' });
    return v === true;
  }
  duration(name: string, defMs: number): number {
    const v = this.raw(name);
    if (v === undefined || v === null || v === '') return defMs;
    const ms = parseDuration(v);
    if (ms === null) {
      this.errors.push({ path: this.path(name), message: 'must be a duration such as 100ms, 1s, 5m' });
      return defMs;
    }
    return ms;
  }
  enumOf<T extends string>(name: string, values: readonly T[], def: T): T {
    const v = this.raw(name);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string' || !values.includes(v as T)) {
      this.errors.push({ path: this.path(name), message: `must be one of ${values.join(', ')}` });
      return def;
    }
    return v as T;
  }
  list(name: string): unknown[] {
    const v = this.raw(name);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.errors.push({ path: this.path(name), message: 'must be a list' });
      return [];
    }
    return v;
  }
  map(name: string): Record<string, unknown> {
    const v = this.raw(name);
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.errors.push({ path: this.path(name), message: 'must be a map' });
      return {};
    }
    return v as Record<string, unknown>;
  }
  child(params: unknown, path: string): ParamReader {
    const r = new ParamReader(
      typeof params === 'object' && params !== null ? (params as Record<string, unknown>) : {},
      this.prefix ? `${this.prefix}.${path}` : path,
    );
    if (typeof params !== 'object' || params === null) this.errors.push({ path: r.prefix, message: 'must be a map' });
    return r;
  }
  /** Merges a child's errors into this reader. */
  adopt(child: ParamReader): void {
    this.errors.push(...child.errors);
  }
}
