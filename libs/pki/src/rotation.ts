/**
 * When to renew a workload certificate: at a fraction of its lifetime (Istio's
 * `--workload-cert-grace-period-ratio`, 0.5 = half-life), pulled earlier by a
 * random jitter so a fleet issued together does not renew together; retries
 * after failure back off but never past the point where the cert expires.
 */
import { backoffDelay, type Random } from '@tsmesh/core';

export interface RotationPolicy {
  /** Fraction of the lifetime after which to renew (0 < ratio < 1). */
  ratio: number;
  /** Up to this fraction of the lifetime is subtracted at random. */
  jitter: number;
  /** Retry backoff after a failed renewal. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_ROTATION: RotationPolicy = { ratio: 0.5, jitter: 0.05, retryBaseMs: 1000, retryMaxMs: 60_000 };

/** Absolute time (ms since epoch) at which a certificate valid for [notBefore, notAfter] should be renewed. */
export function renewAt(
  notBefore: number,
  notAfter: number,
  random: Random,
  policy: RotationPolicy = DEFAULT_ROTATION,
): number {
  const life = Math.max(0, notAfter - notBefore);
  return notBefore + life * policy.ratio - life * policy.jitter * random.next();
}

/** Delay before retry `attempt` (0-based) after a failed renewal; capped to leave time before expiry. */
export function retryDelay(
  attempt: number,
  now: number,
  notAfter: number,
  random: Random,
  policy: RotationPolicy = DEFAULT_ROTATION,
): number {
  const d = Math.max(policy.retryBaseMs / 2, backoffDelay(random, attempt, policy.retryBaseMs, policy.retryMaxMs));
  const left = notAfter - now;
  return left > 0 ? Math.min(d, Math.max(policy.retryBaseMs / 2, left / 4)) : d;
}

/** Renew now? True past the renewal time or when the trusted root changed (Istio's secret controller rule). */
export function needsRenewal(now: number, renewTime: number, rootChanged: boolean): boolean {
  return rootChanged || now >= renewTime;
}
