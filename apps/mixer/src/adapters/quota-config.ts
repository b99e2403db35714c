/**
 * Quota definitions shared by memquota and redisquota: `quotas[{name,
 * maxAmount, validDuration, bucketDuration, rateLimitAlgorithm, overrides[{dimensions, maxAmount, validDuration}]}]`.
 * An override applies when every dimension it names equals the instance's.
 */
import { valueText, type AttributeValue } from '@tsmesh/attributes';
import { ParamReader } from './params';

export interface QuotaOverride {
  dimensions: Record<string, string>;
  maxAmount: number;
  validDurationMs: number;
}

export interface QuotaDef {
  name: string;
  maxAmount: number;
  validDurationMs: number;
  bucketDurationMs: number;
  algorithm: 'FIXED_WINDOW' | 'ROLLING_WINDOW';
  overrides: QuotaOverride[];
}

export function readQuotas(r: ParamReader, withRedisFields: boolean): QuotaDef[] {
  return r.list('quotas').map((q, i) => {
    const c = r.child(q, `quotas[${i}]`);
    const name = c.string('name');
    if (!name) c.errors.push({ path: `quotas[${i}].name`, message: 'required' });
    const maxAmount = c.int('maxAmount', 0);
    const validDurationMs = c.duration('validDuration', 0);
    const bucketDurationMs = withRedisFields ? c.duration('bucketDuration', 0) : 0;
    const algorithm = withRedisFields
      ? c.enumOf('rateLimitAlgorithm', ['FIXED_WINDOW', 'ROLLING_WINDOW'] as const, 'FIXED_WINDOW')
      : 'ROLLING_WINDOW';
    if (withRedisFields && validDurationMs <= 0)
      c.errors.push({ path: `quotas[${i}].validDuration`, message: 'must be > 0 for redisquota' });
    if (
      withRedisFields &&
      algorithm === 'ROLLING_WINDOW' &&
      (bucketDurationMs <= 0 || bucketDurationMs > validDurationMs)
    )
      c.errors.push({
        path: `quotas[${i}].bucketDuration`,
        message: 'must be > 0 and <= validDuration for ROLLING_WINDOW',
      });
    const overrides = c.list('overrides').map((o, j) => {
      const oc = c.child(o, `overrides[${j}]`);
      const dims = oc.map('dimensions');
      const out: QuotaOverride = {
        dimensions: Object.fromEntries(Object.entries(dims).map(([k, v]) => [k, String(v)])),
        maxAmount: oc.int('maxAmount', maxAmount),
        validDurationMs: oc.duration('validDuration', validDurationMs),
      };
      c.adopt(oc);
      return out;
    });
    r.adopt(c);
    return { name, maxAmount, validDurationMs, bucketDurationMs, algorithm, overrides };
  });
}

/** The definition for an instance: by fully qualified name, or by the name before the first dot. */
export function findQuota(defs: readonly QuotaDef[], instanceName: string): QuotaDef | undefined {
  return (
    defs.find((d) => d.name === instanceName) ?? defs.find((d) => instanceName.split('.')[0] === d.name.split('.')[0])
  );
}

export function dimensionText(dims: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (dims && typeof dims === 'object')
    for (const [k, v] of Object.entries(dims)) out[k] = valueText(v as AttributeValue);
  return out;
}

export interface Limit {
  maxAmount: number;
  validDurationMs: number;
  /** Stable key of quota + dimensions. */
  key: string;
}

export function limitFor(def: QuotaDef, dims: Record<string, string>): Limit {
  const o = def.overrides.find((ov) => Object.entries(ov.dimensions).every(([k, v]) => dims[k] === v));
  const key = `${def.name};${Object.keys(dims)
    .sort()
    .map((k) => `${k}=${dims[k]}`)
    .join(';')}`;
  return { maxAmount: o?.maxAmount ?? def.maxAmount, validDurationMs: o?.validDurationMs ?? def.validDurationMs, key };
}

export function grantOf(available: number, amount: number, bestEffort: boolean): number {
  if (available >= amount) return amount;
  return bestEffort ? Math.max(0, available) : 0;
}
