/**
 * redisquota against the real Redis at REDIS_URL: fixed and rolling windows,
 * overrides, best effort, and the configured answer when Redis is unreachable.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { MutableBag } from '@tsmesh/attributes';
import { metricValue } from '@tsmesh/core';
import { waitFor } from '@tsmesh/testing';
import { testRuntime, yamlObjects } from '../../runtime/test-support';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

function config(url: string, prefix: string, algorithm: string, extra = '') {
  return yamlObjects(`
apiVersion: config.istio.io/v1alpha2
kind: redisquota
metadata: { name: handler, namespace: istio-system }
spec:
  redisServerUrl: ${url}
  keyPrefix: "${prefix}"
  timeout: 300ms
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: 3
    validDuration: 1s
    bucketDuration: 100ms
    rateLimitAlgorithm: ${algorithm}
    overrides:
    - dimensions: { destination: reviews }
      maxAmount: 1
${extra}
---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata: { name: requestcount, namespace: istio-system }
spec:
  dimensions:
    destination: destination.labels["app"] | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: quota, namespace: istio-system }
spec:
  actions:
  - handler: handler.redisquota
    instances: [ requestcount.quota ]
`);
}

describe('redisquota with real Redis', () => {
  const prefix = `tsmesh-test:${randomUUID()}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let reachable = true;

  beforeAll(async () => {
    try {
      await redis.connect();
      await redis.ping();
    } catch (e) {
      reachable = false;
      console.warn(`SKIPPING redisquota tests: Redis at ${REDIS_URL} is unreachable (${(e as Error).message})`);
    }
  });
  afterAll(async () => {
    if (reachable) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });

  const ask = async (
    runtime: Awaited<ReturnType<typeof testRuntime>>['runtime'],
    app: string,
    n = 1,
    bestEffort = false,
  ) => {
    const out = await runtime.check(
      MutableBag.from({ 'destination.labels': { app } }),
      new Map([['requestcount', { amount: n, bestEffort, deduplicationId: '' }]]),
    );
    return out.quotas.get('requestcount');
  };

  for (const algorithm of ['FIXED_WINDOW', 'ROLLING_WINDOW']) {
    it(`${algorithm}: grants maxAmount per window, then 0, and recovers after the window`, async () => {
      if (!reachable) return;
      const { runtime } = testRuntime();
      try {
        expect(await runtime.apply(config(REDIS_URL, `${prefix}${algorithm}:`, algorithm))).toEqual([]);
        const grants: number[] = [];
        for (let i = 0; i < 4; i++) grants.push((await ask(runtime, 'ratings'))?.amount ?? -1);
        // a window boundary can fall inside the loop; never more than maxAmount within one window
        expect(grants.filter((g) => g === 1).length).toBeGreaterThanOrEqual(3);
        expect(grants).toContain(0);
        // the override: 1 for reviews
        expect((await ask(runtime, 'reviews'))?.amount).toBe(1);
        expect((await ask(runtime, 'reviews'))?.amount).toBe(0);
        await waitFor(async () => (await ask(runtime, 'reviews'))?.amount === 1, { timeoutMs: 5000 });
      } finally {
        await runtime.close();
      }
    });
  }

  it('best effort grants what is left', async () => {
    if (!reachable) return;
    const { runtime } = testRuntime();
    try {
      await runtime.apply(config(REDIS_URL, `${prefix}best:`, 'ROLLING_WINDOW'));
      expect((await ask(runtime, 'details', 2, true))?.amount).toBe(2);
      expect((await ask(runtime, 'details', 2, true))?.amount).toBe(1);
      expect((await ask(runtime, 'details', 2, false))?.amount).toBe(0);
    } finally {
      await runtime.close();
    }
  });

  for (const policy of ['grant', 'deny'] as const) {
    it(`Redis unreachable → ${policy}, counted`, async () => {
      const { runtime, selfRegistry } = testRuntime({ quotaBackendUnavailable: policy });
      // port 1 on loopback: nothing listens there
      try {
        await runtime.apply(config('redis://127.0.0.1:1', `${prefix}down:`, 'FIXED_WINDOW'));
        const q = await ask(runtime, 'ratings');
        expect(q?.amount).toBe(policy === 'grant' ? 1 : 0);
        expect(q?.status?.code).toBe(14);
        expect(await metricValue(selfRegistry, 'mixer_redisquota_unavailable_total')).toBe(1);
      } finally {
        await runtime.close();
      }
    });
  }
});
