import { SequenceRandom } from '@tsmesh/core';
import { DEFAULT_ROTATION, needsRenewal, renewAt, retryDelay } from './rotation';

const H = 3_600_000;

test('renews at half-life, pulled earlier by at most the jitter', () => {
  expect(renewAt(0, 24 * H, new SequenceRandom([0]))).toBe(12 * H);
  const early = renewAt(0, 24 * H, new SequenceRandom([0.999999]));
  expect(early).toBeLessThan(12 * H);
  expect(early).toBeGreaterThanOrEqual(12 * H - 24 * H * DEFAULT_ROTATION.jitter);
});

test('root change forces renewal before the half-life', () => {
  expect(needsRenewal(1 * H, 12 * H, false)).toBe(false);
  expect(needsRenewal(1 * H, 12 * H, true)).toBe(true);
  expect(needsRenewal(12 * H, 12 * H, false)).toBe(true);
});

test('retry backoff grows but stays well inside the remaining lifetime', () => {
  const r = new SequenceRandom([0.99]);
  const first = retryDelay(0, 0, 24 * H, r);
  const later = retryDelay(6, 0, 24 * H, r);
  expect(later).toBeGreaterThan(first);
  expect(later).toBeLessThanOrEqual(DEFAULT_ROTATION.retryMaxMs);
  expect(retryDelay(10, 0, 8_000, r)).toBeLessThanOrEqual(2_000);
});
