import { MutableBag } from '@tsmesh/attributes';
import { FakeClock } from '@tsmesh/core';
import { testRuntime, yamlObjects } from '../../runtime/test-support';

const config = yamlObjects(`
apiVersion: config.istio.io/v1alpha2
kind: memquota
metadata: { name: handler, namespace: istio-system }
spec:
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: 3
    validDuration: 1s
    overrides:
    - dimensions: { destination: details }
      maxAmount: 2
      validDuration: 0s
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
  - handler: handler.memquota
    instances: [ requestcount.quota ]
`);

async function memquota() {
  const clock = new FakeClock();
  const { runtime } = testRuntime({ clock });
  expect(await runtime.apply(config)).toEqual([]);
  const ask = async (app: string, amount = 1, bestEffort = false) => {
    const out = await runtime.check(
      MutableBag.from({ 'destination.labels': { app } }),
      new Map([['requestcount', { amount, bestEffort, deduplicationId: '' }]]),
    );
    return out.quotas.get('requestcount');
  };
  return { clock, ask };
}

describe('memquota', () => {
  // The calls of redisquota.int.test.ts that tell the algorithms apart: memquota has only the
  // rolling window (Istio's has no rateLimitAlgorithm), so it answers them as ROLLING_WINDOW.
  it('rate limits over a rolling window: never more than maxAmount in any window, back tick by tick', async () => {
    const { clock, ask } = await memquota();
    // the whole window is the grant's validity
    expect(await ask('ratings')).toMatchObject({ amount: 1, validDurationMs: 1000 });
    clock.advance(700);
    expect((await ask('ratings', 2))?.amount).toBe(2);
    expect((await ask('ratings'))?.amount).toBe(0);
    // one window after the first grant, where a fixed window would grant all 3 again, only the
    // first grant's tick has aged out
    clock.advance(300);
    expect((await ask('ratings', 3))?.amount).toBe(0);
    expect((await ask('ratings', 3, true))?.amount).toBe(1);
    expect((await ask('ratings'))?.amount).toBe(0);
    clock.advance(699);
    expect((await ask('ratings'))?.amount).toBe(0);
    // the tick of the 2 granted at 700 ms ends its window at 1700 ms
    clock.advance(1);
    expect((await ask('ratings', 2))?.amount).toBe(2);
    expect((await ask('ratings'))?.amount).toBe(0);
  });

  it('keeps a limit per dimension set', async () => {
    const { ask } = await memquota();
    expect((await ask('ratings', 3))?.amount).toBe(3);
    expect((await ask('reviews', 3))?.amount).toBe(3);
    expect((await ask('ratings'))?.amount).toBe(0);
  });

  it('treats validDuration 0 as an allocation that never comes back', async () => {
    const { clock, ask } = await memquota();
    expect(await ask('details', 2)).toMatchObject({ amount: 2, validDurationMs: 0 });
    clock.advance(3_600_000);
    expect((await ask('details', 1, true))?.amount).toBe(0);
  });
});
