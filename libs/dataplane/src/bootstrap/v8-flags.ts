import { setFlagsFromString } from 'node:v8';

/**
 * V8 heap tuning for a sidecar. Both flags take effect after the heap exists (the usual
 * young-generation cap, `--max-semi-space-size`, does not: V8 reads it once at heap set-up, so
 * it could only come from every launch command line):
 *   --optimize-for-size           size the old generation by live data rather than for
 *                                 throughput, compact it and give freed pages back;
 *   --semi-space-growth-factor=1  keep the young generation at its initial size (1 MB
 *                                 semi-spaces) instead of growing it to 16 MB ones under traffic.
 * With a 100-service config the sidecar settles near 80–86 MB RSS instead of 110–125 MB
 * (`node tools/bench/run.mjs proxy --rss-only`); the CPU cost is the bench's "one hop, sidecar
 * V8 flags" row beside the plain one (docs/performance.md).
 */
export const SIDECAR_V8_FLAGS = '--optimize-for-size --semi-space-growth-factor=1';

/** Applies space-separated V8 flags to this process (`""` applies none). */
export function applyV8Flags(flags: string): void {
  for (const flag of flags.split(/\s+/)) if (flag) setFlagsFromString(flag);
}
