import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/**
 * When a sidecar goes idle, V8 keeps what traffic promoted to the old generation (mostly garbage:
 * per-request objects that outlived two scavenges) until its memory reducer runs, about 8 s after
 * the last full collection (its start delay is read once at heap set-up, so it cannot be shortened
 * from here), or until the heap reaches its next limit. With a 100-service config that is about
 * 6 MB of RSS for those seconds after every burst (docs/proxy.md, "Memory"). This asks for one full
 * collection as soon as the event loop has been idle for one check interval, and only if the
 * heap grew by `minGrowthBytes` since the last time: a sidecar under load never triggers it (its
 * loop is busy), and an idle one collects once per burst, not once per interval.
 */
export interface IdleGcOptions {
  /** How often the loop's utilization and the heap are checked. */
  intervalMs: number;
  /** Event-loop utilization over one interval below which the sidecar counts as idle. */
  idleUtilization: number;
  /** Growth of the used heap since the last collection this asked for that makes one worth it. */
  minGrowthBytes: number;
}

export const SIDECAR_IDLE_GC: IdleGcOptions = { intervalMs: 500, idleUtilization: 0.02, minGrowthBytes: 2 << 20 };

/**
 * The decision, apart from timers and V8: fed one sample per interval, says when to collect. The
 * baseline is the lowest used heap seen since the last collection asked for (the first sample
 * after it: the heap as it left it; lower when V8 collected on its own since).
 */
export class IdleGcPolicy {
  private baseline: number | undefined;

  constructor(private readonly options: Pick<IdleGcOptions, 'idleUtilization' | 'minGrowthBytes'>) {}

  /** `utilization`: of the event loop over the last interval; `usedBytes`: the used heap now. */
  shouldCollect(utilization: number, usedBytes: number): boolean {
    if (this.baseline === undefined || usedBytes < this.baseline) {
      this.baseline = usedBytes;
      return false;
    }
    if (utilization >= this.options.idleUtilization || usedBytes - this.baseline < this.options.minGrowthBytes)
      return false;
    this.baseline = undefined;
    return true;
  }
}

/**
 * Starts the idle collection for this process; returns its stop. The timer is unref'd, so it never
 * keeps the process alive. `gc` is taken from a new context after `--expose-gc` (the main context,
 * created before, does not get the global).
 */
export function startIdleGc(options: IdleGcOptions = SIDECAR_IDLE_GC): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const policy = new IdleGcPolicy(options);
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    if (policy.shouldCollect(utilization, getHeapStatistics().used_heap_size)) gc();
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
