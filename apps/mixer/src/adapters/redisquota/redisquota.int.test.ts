/**
 * redisquota against a real Redis. The shared one at REDIS_URL: fixed and rolling windows told
 * apart, overrides, best effort. A private `redis-server` stopped midway: the configured answer
 * (`grant` or `deny`) and `mixer_redisquota_unavailable_total`, then Redis again once it is back.
 *
 * Without Redis (or without a `redis-server` binary) these tests warn and pass locally; under CI
 * (`CI=true`) or `TSMESH_E2E_STRICT=1` they fail instead (`requirePeers`).
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { MutableBag } from '@tsmesh/attributes';
import { metricValue } from '@tsmesh/core';
import { delay, hasRedisServer, requirePeers, startRedisServer, waitFor } from '@tsmesh/testing';
import { testRuntime, yamlObjects } from '../../runtime/test-support';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const STRICT = requirePeers();

/** The limit of `ratings` in `config` (the default quota); reviews has an override of 1. */
const MAX = 3;
const WINDOW_MS = 1000;
const BUCKET_MS = 100;

function config(url: string, prefix: string, algorithm: string) {
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
    maxAmount: ${MAX}
    validDuration: ${WINDOW_MS}ms
    bucketDuration: ${BUCKET_MS}ms
    rateLimitAlgorithm: ${algorithm}
    overrides:
    - dimensions: { destination: reviews }
      maxAmount: 1
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

type Runtime = ReturnType<typeof testRuntime>['runtime'];

async function ask(runtime: Runtime, app: string, n = 1, bestEffort = false) {
  const out = await runtime.check(
    MutableBag.from({ 'destination.labels': { app } }),
    new Map([['requestcount', { amount: n, bestEffort, deduplicationId: '' }]]),
  );
  const q = out.quotas.get('requestcount');
  if (!q) throw new Error('no quota result');
  return q;
}

/** Locally a missing Redis is a warning and the tests pass empty; under CI it fails them. */
function missing(what: string): void {
  if (STRICT) throw new Error(`${what}, and CI / TSMESH_E2E_STRICT=1 requires it`);
  console.warn(`SKIPPING redisquota tests: ${what}`);
}

describe('redisquota with the Redis at REDIS_URL', () => {
  const prefix = `tsmesh-test:${randomUUID()}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let reachable = true;

  beforeAll(async () => {
    try {
      await redis.connect();
      await redis.ping();
    } catch (e) {
      reachable = false;
      redis.disconnect();
      missing(`Redis at ${REDIS_URL} is unreachable (${(e as Error).message})`);
    }
  });
  afterAll(async () => {
    if (reachable) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });

  /** A runtime with the handler applied on fresh keys; closed after `body`. */
  async function withHandler(algorithm: string, body: (runtime: Runtime) => Promise<void>) {
    const { runtime } = testRuntime();
    try {
      expect(await runtime.apply(config(REDIS_URL, `${prefix}${randomUUID()}:`, algorithm))).toEqual([]);
      await body(runtime);
    } finally {
      await runtime.close();
    }
  }

  for (const algorithm of ['FIXED_WINDOW', 'ROLLING_WINDOW']) {
    it(`${algorithm}: grants maxAmount per window, then 0, and recovers after the window`, async () => {
      if (!reachable) return;
      await withHandler(algorithm, async (runtime) => {
        const grants: number[] = [];
        for (let i = 0; i < 4; i++) grants.push((await ask(runtime, 'ratings')).amount);
        expect(grants).toEqual([1, 1, 1, 0]);
        // the override: 1 for reviews
        expect((await ask(runtime, 'reviews')).amount).toBe(1);
        expect((await ask(runtime, 'reviews')).amount).toBe(0);
        await waitFor(async () => (await ask(runtime, 'reviews')).amount === 1, { timeoutMs: 5000 });
      });
    });
  }

  // The same calls to both algorithms: 1 that starts the window, 2 late in it, then 3 just after
  // the first grant is a window old.
  it('FIXED_WINDOW: the window starts at its first grant and resets whole, so 2× maxAmount passes across the boundary', async () => {
    if (!reachable) return;
    await withHandler('FIXED_WINDOW', async (runtime) => {
      const first = await ask(runtime, 'ratings');
      expect(first.amount).toBe(1);
      // a fixed-window grant is valid until the window resets
      expect(first.validDurationMs).toBeGreaterThan(WINDOW_MS - 200);
      expect(first.validDurationMs).toBeLessThanOrEqual(WINDOW_MS);
      await delay(first.validDurationMs - 300);
      const lateAt = Date.now();
      expect((await ask(runtime, 'ratings', 2)).amount).toBe(2);
      const full = await ask(runtime, 'ratings');
      expect(full.amount).toBe(0);
      expect(full.validDurationMs).toBeLessThanOrEqual(300);
      await delay(full.validDurationMs + 30);
      // the whole maxAmount again: 5 granted within less than one window
      expect((await ask(runtime, 'ratings', MAX)).amount).toBe(MAX);
      expect(Date.now() - lateAt).toBeLessThan(WINDOW_MS);
      expect((await ask(runtime, 'ratings')).amount).toBe(0);
    });
  });

  it('ROLLING_WINDOW: never more than maxAmount in any window; grants come back bucket by bucket', async () => {
    if (!reachable) return;
    await withHandler('ROLLING_WINDOW', async (runtime) => {
      const first = await ask(runtime, 'ratings');
      const firstAt = Date.now();
      expect(first.amount).toBe(1);
      // a rolling-window grant is valid until its bucket ends
      expect(first.validDurationMs).toBeGreaterThan(0);
      expect(first.validDurationMs).toBeLessThanOrEqual(BUCKET_MS);
      await delay(WINDOW_MS - 300);
      expect((await ask(runtime, 'ratings', 2)).amount).toBe(2);
      expect((await ask(runtime, 'ratings')).amount).toBe(0);
      // the first grant's bucket has slid out (it started no later than the grant, on Redis time,
      // which is this machine's clock); the late grant's bucket is still in the window for
      // another ~600 ms
      await delay(firstAt + WINDOW_MS + 30 - Date.now());
      expect((await ask(runtime, 'ratings', MAX)).amount).toBe(0);
      expect((await ask(runtime, 'ratings')).amount).toBe(1);
      expect((await ask(runtime, 'ratings')).amount).toBe(0);
      // then the late grant's bucket: its 2 come back, and no more
      await waitFor(async () => (await ask(runtime, 'ratings', 2)).amount === 2, { timeoutMs: 2000 });
      expect((await ask(runtime, 'ratings')).amount).toBe(0);
    });
  });

  it('best effort grants what is left', async () => {
    if (!reachable) return;
    await withHandler('ROLLING_WINDOW', async (runtime) => {
      expect((await ask(runtime, 'details', 2, true)).amount).toBe(2);
      expect((await ask(runtime, 'details', 2, true)).amount).toBe(1);
      expect((await ask(runtime, 'details', 2, false)).amount).toBe(0);
    });
  });
});

describe('redisquota when Redis cannot be reached', () => {
  for (const policy of ['grant', 'deny'] as const) {
    it(`Redis never reachable → ${policy}, UNAVAILABLE, counted`, async () => {
      const { runtime, selfRegistry } = testRuntime({ quotaBackendUnavailable: policy });
      // port 1 on loopback: nothing listens there
      try {
        expect(await runtime.apply(config('redis://127.0.0.1:1', 'tsmesh-test:down:', 'FIXED_WINDOW'))).toEqual([]);
        const q = await ask(runtime, 'ratings');
        expect(q.amount).toBe(policy === 'grant' ? 1 : 0);
        expect(q.status?.code).toBe(14);
        expect(await metricValue(selfRegistry, 'mixer_redisquota_unavailable_total')).toBe(1);
      } finally {
        await runtime.close();
      }
    });
  }

  describe('a private redis-server stopped midway', () => {
    let available = true;
    beforeAll(() => {
      available = hasRedisServer();
      if (!available) missing('no redis-server binary on the PATH');
    });

    for (const policy of ['grant', 'deny'] as const) {
      it(`--redis-unavailable ${policy}: quota from Redis, then ${policy} while it is down (counted), then Redis again`, async () => {
        if (!available) return;
        let server = await startRedisServer();
        const { runtime, selfRegistry } = testRuntime({ quotaBackendUnavailable: policy });
        const unavailable = () =>
          metricValue(selfRegistry, 'mixer_redisquota_unavailable_total', {
            handler: 'handler.redisquota.istio-system',
          });
        try {
          expect(await runtime.apply(config(server.url, 'tsmesh-test:', 'FIXED_WINDOW'))).toEqual([]);
          const grants: number[] = [];
          for (let i = 0; i < MAX + 1; i++) grants.push((await ask(runtime, 'ratings')).amount);
          expect(grants).toEqual([1, 1, 1, 0]);
          expect(await unavailable()).toBe(0);

          await server.kill();
          for (let i = 1; i <= 2; i++) {
            const q = await ask(runtime, 'ratings');
            // grant: the whole ask although Redis had refused it a moment ago; deny: nothing
            expect(q.amount).toBe(policy === 'grant' ? 1 : 0);
            expect(q.status).toEqual({ code: 14, message: 'redisquota: Service Unavailable' });
            expect(await unavailable()).toBe(i);
          }

          // a fresh Redis at the same address: answers come from it again, and are not counted
          server = await startRedisServer(server.port);
          await waitFor(async () => (await ask(runtime, 'reviews')).status === undefined, { timeoutMs: 5000 });
          const before = await unavailable();
          // reviews' 1 went to the first answer from the new Redis; this one is Redis refusing
          const refused = await ask(runtime, 'reviews');
          expect(refused.amount).toBe(0);
          expect(refused.status).toBeUndefined();
          expect(await unavailable()).toBe(before);
        } finally {
          await runtime.close();
          await server.kill();
        }
      });
    }
  });
});
