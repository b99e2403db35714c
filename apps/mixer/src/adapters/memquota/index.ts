/**
 * `memquota` adapter (Istio 1.0 `mixer/adapter/memquota`): in-process quotas.
 * validDuration > 0 is a rate limit over a rolling window; 0 is an allocation
 * that never expires. Repeated deduplication ids within
 * `minDeduplicationDuration` get the first answer again.
 */
import { ParamReader } from '../params';
import { dimensionText, findQuota, grantOf, limitFor, readQuotas } from '../quota-config';
import type { AdapterInfo, QuotaResult } from '../../runtime/types';
import { RollingWindow } from './rolling-window';

function read(params: Record<string, unknown>) {
  const r = new ParamReader(params);
  const quotas = readQuotas(r, false);
  const dedupMs = r.duration('minDeduplicationDuration', 1000);
  return { r, quotas, dedupMs };
}

export const memquotaAdapter: AdapterInfo = {
  name: 'memquota',
  templates: ['quota'],
  validate: (params) => read(params).r.errors,
  build(params, env) {
    const { quotas, dedupMs } = read(params);
    const windows = new Map<string, RollingWindow>();
    const allocations = new Map<string, number>();
    const dedup = new Map<string, { at: number; result: QuotaResult }>();
    return {
      handleQuota(instance, args) {
        const now = env.clock.now();
        if (args.deduplicationId) {
          const seen = dedup.get(args.deduplicationId);
          if (seen && now - seen.at < dedupMs) return seen.result;
          if (dedup.size > 10000) for (const [k, v] of dedup) if (now - v.at >= dedupMs) dedup.delete(k);
        }
        const def = findQuota(quotas, instance.name);
        let result: QuotaResult;
        if (!def) result = { amount: args.amount, validDurationMs: 0 };
        else {
          const limit = limitFor(def, dimensionText(instance.fields['dimensions']));
          if (limit.validDurationMs > 0) {
            let w = windows.get(limit.key);
            if (!w || w.windowMs !== limit.validDurationMs)
              windows.set(limit.key, (w = new RollingWindow(limit.validDurationMs)));
            const granted = grantOf(limit.maxAmount - w.used(now), args.amount, args.bestEffort);
            if (granted > 0) w.add(now, granted);
            result = { amount: granted, validDurationMs: limit.validDurationMs };
          } else {
            const used = allocations.get(limit.key) ?? 0;
            const granted = grantOf(limit.maxAmount - used, args.amount, args.bestEffort);
            allocations.set(limit.key, used + granted);
            result = { amount: granted, validDurationMs: 0 };
          }
        }
        if (args.deduplicationId) dedup.set(args.deduplicationId, { at: now, result });
        return result;
      },
    };
  },
};
