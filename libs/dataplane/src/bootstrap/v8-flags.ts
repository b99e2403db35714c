import { setFlagsFromString } from 'node:v8';

/**
 * V8 heap tuning for a sidecar, applied by apps/proxy at start (`TSMESH_PROXY_V8_FLAGS`
 * replaces it, `""` keeps V8's defaults). Both flags take effect after the heap exists (the usual
 * young-generation cap, `--max-semi-space-size`, does not: V8 reads it once at heap set-up, so
 * it could only come from every launch command line):
 *   --optimize-for-size           size the old generation by live data rather than for
 *                                 throughput, compact it and give freed pages back;
 *   --semi-space-growth-factor=1  keep the young generation at its initial size (1 MB
 *                                 semi-spaces) instead of growing it to 16 MB ones under traffic.
 * With a 100-service config they took the sidecar from 110–130 MB RSS to 83–89 MB at the time
 * (`node tools/bench/run.mjs proxy --rss-only`); apps/proxy pairs them with startIdleGc (idle-gc.ts),
 * and `TSMESH_PROXY_V8_FLAGS` replaces both. Before the upstream pool stopped promoting every
 * request's objects (57c58bf) this cost 20–30 % of one-hop throughput; since, the bench's
 * "one hop, sidecar V8 flags" row beside the plain one shows no throughput loss (docs/performance.md).
 */
export const SIDECAR_V8_FLAGS = '--optimize-for-size --semi-space-growth-factor=1';

/** Applies space-separated V8 flags to this process (`""` applies none). */
export function applyV8Flags(flags: string): void {
  for (const flag of flags.split(/\s+/)) if (flag) setFlagsFromString(flag);
}
