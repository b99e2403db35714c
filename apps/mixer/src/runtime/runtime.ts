/**
 * Mixer's runtime: holds the current config snapshot and the handlers built
 * for it, and dispatches Check (preconditions + quotas) and Report. Handlers
 * with unchanged adapter params are reused across config changes so quota
 * state and metric series survive a reload.
 */
import { TrackingBag, EvalError, type Bag, type Reference } from '@tsmesh/attributes';
import {
  counter,
  gauge,
  GrpcStatus,
  type Clock,
  type Counter,
  type Gauge,
  type Logger,
  type Registry,
} from '@tsmesh/core';
import type { CompiledInstance } from '../config/instances';
import type { RawObject } from '../config/loader';
import { buildSnapshot, type ConfigIssue, type CompiledRule, type Snapshot } from '../config/snapshot';
import type { AdapterInfo, CheckResult, Handler, Instance, QuotaArgs, RpcStatus } from './types';

export interface RuntimeOptions {
  adapters: ReadonlyMap<string, AdapterInfo>;
  clock: Clock;
  logger: Logger;
  selfRegistry: Registry;
  promRegistry: Registry;
  quotaBackendUnavailable: 'grant' | 'deny';
  /** Rules here apply to every request. */
  defaultNamespace: string;
  defaultValidDurationMs: number;
  defaultValidUseCount: number;
}

export interface QuotaOutcome {
  amount: number;
  validDurationMs: number;
  status?: RpcStatus;
  references: Reference[];
}

export interface CheckOutcome {
  status: RpcStatus;
  validDurationMs: number;
  validUseCount: number;
  references: Reference[];
  quotas: Map<string, QuotaOutcome>;
}

interface Built {
  key: string;
  handler: Handler;
}

export class Runtime {
  private snapshot: Snapshot | null = null;
  private built = new Map<string, Built>();
  private readonly checks: Counter<'code'>;
  private readonly reports: Counter<string>;
  private readonly matchErrors: Counter<'rule'>;
  private readonly dispatchErrors: Counter<'handler' | 'variety'>;
  private readonly configErrors: Gauge<string>;
  private readonly log: Logger;

  constructor(private readonly opts: RuntimeOptions) {
    const r = opts.selfRegistry;
    this.checks = counter(r, 'mixer_check_total', 'Check calls answered, by google.rpc code', ['code']);
    this.reports = counter(r, 'mixer_report_entries_total', 'Report entries (attribute sets) processed');
    this.matchErrors = counter(r, 'mixer_rule_match_errors_total', 'Rule match expressions that failed to evaluate', [
      'rule',
    ]);
    this.dispatchErrors = counter(r, 'mixer_dispatch_errors_total', 'Adapter calls or instance builds that failed', [
      'handler',
      'variety',
    ]);
    this.configErrors = gauge(r, 'mixer_config_rejected_objects', 'Config objects rejected in the current config');
    this.log = opts.logger;
  }

  get current(): Snapshot | null {
    return this.snapshot;
  }

  /** Builds and swaps in a new snapshot; returns the objects rejected (the rest serves). */
  async apply(objects: RawObject[]): Promise<ConfigIssue[]> {
    const snap = buildSnapshot({ objects, adapters: this.opts.adapters, previousGood: this.snapshot?.good });
    const next = new Map<string, Built>();
    const reuse = new Map([...this.built.values()].map((b) => [b.key, b]));
    for (const h of snap.handlers.values()) {
      const old = reuse.get(h.key);
      if (old) {
        next.set(h.fqn, old);
        reuse.delete(h.key);
        continue;
      }
      try {
        const handler = await h.adapter.build(h.params, {
          handlerName: h.fqn,
          clock: this.opts.clock,
          logger: this.log,
          selfRegistry: this.opts.selfRegistry,
          promRegistry: this.opts.promRegistry,
          quotaBackendUnavailable: this.opts.quotaBackendUnavailable,
        });
        next.set(h.fqn, { key: h.key, handler });
      } catch (e) {
        this.log.error({ handler: h.fqn, err: (e as Error).message }, 'handler build failed');
      }
    }
    this.snapshot = snap;
    this.built = next;
    for (const old of reuse.values()) await old.handler.close?.();
    this.configErrors.set(snap.issues.length);
    return snap.issues;
  }

  private applicable(bag: Bag): CompiledRule[] {
    const snap = this.snapshot;
    if (!snap) return [];
    const ns = (bag.get('destination.namespace') ?? bag.get('destination.service.namespace')) as string | undefined;
    return snap.rules.filter((r) => r.namespace === this.opts.defaultNamespace || r.namespace === ns);
  }

  private matches(rule: CompiledRule, bag: Bag): boolean {
    if (!rule.match) return true;
    try {
      return rule.match.evaluate(bag) === true;
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
      this.matchErrors.inc({ rule: rule.fqn });
      return false;
    }
  }

  private build(inst: CompiledInstance, bag: Bag, handler: string, variety: string): Instance | null {
    try {
      return inst.build(bag);
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
      this.dispatchErrors.inc({ handler, variety });
      this.log.debug({ instance: inst.fqn, err: e.message }, 'instance not built');
      return null;
    }
  }

  async check(bag: Bag, quotas: ReadonlyMap<string, QuotaArgs> = new Map()): Promise<CheckOutcome> {
    const tracked = new TrackingBag(bag);
    let status: RpcStatus = { code: GrpcStatus.OK, message: '' };
    let validDurationMs = this.opts.defaultValidDurationMs;
    let validUseCount = this.opts.defaultValidUseCount;
    const rules = this.applicable(tracked).filter((r) => this.matches(r, tracked));
    const calls: Array<Promise<{ fqn: string; res: CheckResult | null }>> = [];
    for (const rule of rules) {
      for (const action of rule.actions) {
        const h = this.built.get(action.handler.fqn)?.handler;
        if (!h?.handleCheck) continue;
        for (const ci of action.instances) {
          if (ci.template.variety !== 'check') continue;
          const inst = this.build(ci, tracked, action.handler.fqn, 'check');
          if (!inst) continue;
          const fqn = action.handler.fqn;
          calls.push(
            Promise.resolve()
              .then(() => (h.handleCheck as NonNullable<Handler['handleCheck']>)(inst))
              .then(
                (res) => ({ fqn, res }),
                (e: Error) => {
                  this.dispatchErrors.inc({ handler: fqn, variety: 'check' });
                  this.log.warn({ handler: fqn, err: e.message }, 'check handler failed');
                  return {
                    fqn,
                    res: {
                      status: { code: GrpcStatus.INTERNAL, message: e.message },
                      validDurationMs: 0,
                      validUseCount: 0,
                    },
                  };
                },
              ),
          );
        }
      }
    }
    for (const { fqn, res } of await Promise.all(calls)) {
      if (!res) continue;
      validDurationMs = Math.min(validDurationMs, res.validDurationMs);
      validUseCount = Math.min(validUseCount, res.validUseCount);
      if (res.status.code !== GrpcStatus.OK && status.code === GrpcStatus.OK)
        status = { code: res.status.code, message: `${fqn}:${res.status.message}` };
    }
    const quotaOut = new Map<string, QuotaOutcome>();
    for (const [name, args] of quotas) quotaOut.set(name, await this.quota(bag, name, args));
    this.checks.inc({ code: String(status.code) });
    return { status, validDurationMs, validUseCount, references: tracked.references(), quotas: quotaOut };
  }

  private async quota(bag: Bag, name: string, args: QuotaArgs): Promise<QuotaOutcome> {
    const tracked = new TrackingBag(bag);
    let out: QuotaOutcome | null = null;
    for (const rule of this.applicable(tracked)) {
      for (const action of rule.actions) {
        const targets = action.instances.filter(
          (i) => i.template.variety === 'quota' && (i.fqn === name || i.fqn.startsWith(`${name}.`)),
        );
        if (targets.length === 0 || !this.matches(rule, tracked)) continue;
        const h = this.built.get(action.handler.fqn)?.handler;
        if (!h?.handleQuota) continue;
        for (const ci of targets) {
          const inst = this.build(ci, tracked, action.handler.fqn, 'quota');
          if (!inst) continue;
          try {
            const r = await h.handleQuota(inst, args);
            if (!out || r.amount < out.amount) out = { ...r, references: [] };
          } catch (e) {
            this.dispatchErrors.inc({ handler: action.handler.fqn, variety: 'quota' });
            this.log.warn({ handler: action.handler.fqn, err: (e as Error).message }, 'quota handler failed');
          }
        }
      }
    }
    const result = out ?? { amount: args.amount, validDurationMs: this.opts.defaultValidDurationMs, references: [] };
    result.references = tracked.references();
    return result;
  }

  async report(bags: readonly Bag[]): Promise<void> {
    const perHandler = new Map<string, { handler: Handler; instances: Instance[] }>();
    for (const bag of bags) {
      for (const rule of this.applicable(bag)) {
        if (!this.matches(rule, bag)) continue;
        for (const action of rule.actions) {
          const h = this.built.get(action.handler.fqn)?.handler;
          if (!h?.handleReport) continue;
          let slot = perHandler.get(action.handler.fqn);
          for (const ci of action.instances) {
            if (ci.template.variety !== 'report') continue;
            const inst = this.build(ci, bag, action.handler.fqn, 'report');
            if (!inst) continue;
            if (!slot) perHandler.set(action.handler.fqn, (slot = { handler: h, instances: [] }));
            slot.instances.push(inst);
          }
        }
      }
    }
    this.reports.inc(bags.length);
    await Promise.all(
      [...perHandler].map(async ([fqn, { handler, instances }]) => {
        try {
          await (handler.handleReport as NonNullable<Handler['handleReport']>)(instances);
        } catch (e) {
          this.dispatchErrors.inc({ handler: fqn, variety: 'report' });
          this.log.warn({ handler: fqn, err: (e as Error).message }, 'report handler failed');
        }
      }),
    );
  }

  async close(): Promise<void> {
    for (const b of this.built.values()) await b.handler.close?.();
    this.built.clear();
  }
}
