/**
 * Ties the config store to the xDS server: every store change goes through
 * the debouncer; a fired push rebuilds the push context (new version) and
 * pushes it, full or EDS-only.
 */
import { silentLogger, systemClock, type Clock, type Logger } from '@tsmesh/core';
import type { ConfigStore } from '@tsmesh/mesh-config';
import type { MeshSettings } from '../model/mesh';
import { buildPushContext, type PushContext } from '../model/push-context';
import { Debouncer, type PushRequest } from './debounce';
import type { PilotMetrics } from './metrics';

export interface DiscoveryOptions {
  store: ConfigStore;
  mesh: MeshSettings;
  metrics: PilotMetrics;
  clock?: Clock;
  log?: Logger;
  debounceAfterMs: number;
  debounceMaxMs: number;
}

export class Discovery {
  private ctx: PushContext;
  private counter = 0;
  private readonly debouncer: Debouncer;
  private readonly clock: Clock;
  private readonly log: Logger;
  private unsubscribe?: () => void;
  private readonly pushers: ((req: PushRequest) => void | Promise<void>)[] = [];

  constructor(private readonly opts: DiscoveryOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger();
    this.ctx = this.build();
    this.debouncer = new Debouncer(this.clock, opts.debounceAfterMs, opts.debounceMaxMs, (req) => this.fire(req));
  }

  /** The current push context. */
  context(): PushContext {
    return this.ctx;
  }

  /** Registers who receives pushes (the xDS server; it may finish the push asynchronously). */
  onPush(fn: (req: PushRequest) => void | Promise<void>): void {
    this.pushers.push(fn);
  }

  start(): void {
    this.unsubscribe = this.opts.store.onChange((c) => this.debouncer.change(c.scope === 'config', c.kind));
    this.opts.metrics.configRejects.set(this.opts.store.listRejections().length);
  }

  stop(): void {
    this.unsubscribe?.();
    this.debouncer.stop();
  }

  /** A full push for a reason outside the store (fetched JWKS changed), through the debouncer. */
  requestPush(reason: string): void {
    this.debouncer.change(true, reason);
  }

  /** Pushes now instead of waiting for the debounce (tests, `?push=1`). */
  flush(): void {
    if (this.debouncer.hasPending) this.debouncer.flush();
    else this.fire({ full: true, startMs: this.clock.monotonic(), count: 0, reasons: new Set(['forced']) });
  }

  private build(): PushContext {
    this.counter++;
    const version = `${new Date(this.clock.now()).toISOString()}/${this.counter}`;
    return buildPushContext(this.opts.store, this.opts.mesh, version, this.ctx);
  }

  private fire(req: PushRequest): void {
    const t0 = this.clock.monotonic();
    this.ctx = this.build();
    const t1 = this.clock.monotonic();
    this.opts.metrics.fullPushes.inc({ kind: req.full ? 'full' : 'eds' });
    this.opts.metrics.configRejects.set(this.opts.store.listRejections().length);
    const pushed = this.pushers.map((p) => p(req));
    const version = this.ctx.version;
    void Promise.all(pushed).then(() => {
      const t2 = this.clock.monotonic();
      this.log.info(
        {
          version,
          full: req.full,
          changes: req.count,
          reasons: [...req.reasons],
          waitedMs: Math.round(t0 - req.startMs),
          buildMs: Math.round(t1 - t0),
          pushMs: Math.round(t2 - t1),
        },
        'push',
      );
    });
  }
}
