/**
 * `redisquota` adapter (Istio 1.0 `mixer/adapter/redisquota`): rate limits
 * shared by every Mixer replica, kept in Redis by atomic Lua scripts.
 * When Redis cannot be reached the answer follows one explicit setting
 * (`--redis-unavailable grant|deny`, default grant; Istio 1.0 granted when Redis
 * was down at config load and denied when it went away later, see docs/mixer.md)
 * and is counted in `mixer_redisquota_unavailable_total`.
 */
import Redis from 'ioredis';
import { counter, GrpcStatus, type Counter } from '@tsmesh/core';
import { ParamReader } from '../params';
import { dimensionText, findQuota, limitFor, readQuotas } from '../quota-config';
import type { AdapterInfo } from '../../runtime/types';
import { FIXED_WINDOW_LUA, ROLLING_WINDOW_LUA } from './scripts';

function read(params: Record<string, unknown>) {
  const r = new ParamReader(params);
  const url = r.string('redisServerUrl');
  if (!url) r.errors.push({ path: 'redisServerUrl', message: 'required (host:port or redis://host:port)' });
  const quotas = readQuotas(r, true);
  const poolSize = r.int('connectionPoolSize', 10, 1);
  const keyPrefix = r.string('keyPrefix', 'mixer:quota:');
  const timeoutMs = r.duration('timeout', 1000);
  return { r, url, quotas, poolSize, keyPrefix, timeoutMs };
}

const counters = new WeakMap<object, Counter<'handler'>>();
function unavailableCounter(registry: object & Parameters<typeof counter>[0]): Counter<'handler'> {
  let c = counters.get(registry);
  if (!c) {
    c =
      (registry.getSingleMetric('mixer_redisquota_unavailable_total') as Counter<'handler'> | undefined) ??
      counter(registry, 'mixer_redisquota_unavailable_total', 'redisquota answers given while Redis was unreachable', [
        'handler',
      ]);
    counters.set(registry, c);
  }
  return c;
}

export const redisquotaAdapter: AdapterInfo = {
  name: 'redisquota',
  templates: ['quota'],
  validate: (params) => read(params).r.errors,
  build(params, env) {
    const { url, quotas, keyPrefix, timeoutMs } = read(params);
    const redis = new Redis(url.includes('://') ? url : `redis://${url}`, {
      lazyConnect: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 0,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    redis.on('error', (e: Error) =>
      env.logger.debug({ err: e.message, handler: env.handlerName }, 'redisquota: redis error'),
    );
    const unavailable = unavailableCounter(env.selfRegistry);
    return {
      async handleQuota(instance, args) {
        const def = findQuota(quotas, instance.name);
        if (!def) return { amount: args.amount, validDurationMs: 0 };
        const limit = limitFor(def, dimensionText(instance.fields['dimensions']));
        const key = `${keyPrefix}${def.algorithm === 'FIXED_WINDOW' ? 'fixed' : 'rolling'}:${limit.key}`;
        const best = args.bestEffort ? '1' : '0';
        try {
          const res = (
            def.algorithm === 'FIXED_WINDOW'
              ? await redis.eval(FIXED_WINDOW_LUA, 1, key, limit.maxAmount, args.amount, limit.validDurationMs, best)
              : await redis.eval(
                  ROLLING_WINDOW_LUA,
                  1,
                  key,
                  limit.maxAmount,
                  args.amount,
                  limit.validDurationMs,
                  def.bucketDurationMs,
                  best,
                )
          ) as [number, number];
          return { amount: Number(res[0]), validDurationMs: Number(res[1]) };
        } catch (e) {
          unavailable.inc({ handler: env.handlerName });
          env.logger.warn(
            { err: (e as Error).message, handler: env.handlerName, policy: env.quotaBackendUnavailable },
            'redisquota: Redis unavailable',
          );
          const status = { code: GrpcStatus.UNAVAILABLE, message: 'redisquota: Service Unavailable' };
          return env.quotaBackendUnavailable === 'grant'
            ? { amount: args.amount, validDurationMs: 0, status }
            : { amount: 0, validDurationMs: 0, status };
        }
      },
      async close() {
        redis.disconnect();
      },
    };
  },
};
