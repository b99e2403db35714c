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
import type { Cell, CompiledInstance, KeptValues } from '../config/instances';
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

/** One action of a rule reduced to one variety: the built handler and that variety's instances. */
interface Dispatch {
  fqn: string;
  handler: Handler;
  instances: CompiledInstance[];
  /** Report: the handler's number among the plan's report handlers (Runtime.report's per-handler lists). */
  slot: number;
}

interface RulePlan {
  rule: CompiledRule;
  dispatches: Dispatch[];
  /** Report: where the config's KeptValues keeps the match's result (KeptValues.exprCell: one per text). */
  matchCell: Cell | null;
}

/**
 * What a snapshot dispatches, worked out once per config change (Istio's routing
 * table): per template variety the rules that have something to call, in config
 * order, and those lists per destination namespace. Only these rules' match
 * expressions run — Check never evaluates a telemetry rule's match, so its
 * attributes are not in the referenced attributes (as in Istio's dispatcher).
 */
class Plan {
  private readonly byNs = new Map<string | undefined, Readonly<Record<'check' | 'report', readonly RulePlan[]>>>();
  private readonly quotaTargets = new Map<string, readonly RulePlan[]>();
  private readonly all: Readonly<Record<'check' | 'report' | 'quota', readonly RulePlan[]>>;
  /** How many handlers report rules call (Dispatch.slot counts them). */
  readonly reportHandlers: number;
  /** Where `kept` keeps an entry's destination namespace (namespaceOf). */
  readonly namespaceCell: Cell | null;

  constructor(
    rules: readonly CompiledRule[],
    built: ReadonlyMap<string, Built>,
    private readonly defaultNamespace: string,
    /** The snapshot's: rule matches and the namespace of Report entries are kept in it. */
    readonly kept: KeptValues | null = null,
  ) {
    const slots = new Map<string, number>();
    const forVariety = (variety: 'check' | 'report' | 'quota', method: keyof Handler): RulePlan[] => {
      const out: RulePlan[] = [];
      for (const rule of rules) {
        const dispatches: Dispatch[] = [];
        for (const action of rule.actions) {
          const handler = built.get(action.handler.fqn)?.handler;
          if (!handler?.[method]) continue;
          const instances = action.instances.filter((i) => i.template.variety === variety);
          if (instances.length === 0) continue;
          let slot = -1;
          if (variety === 'report') {
            slot = slots.get(action.handler.fqn) ?? slots.size;
            slots.set(action.handler.fqn, slot);
          }
          dispatches.push({ fqn: action.handler.fqn, handler, instances, slot });
        }
        if (dispatches.length === 0) continue;
        const matchCell = variety === 'report' && kept && rule.match ? kept.exprCell(rule.match) : null;
        out.push({ rule, dispatches, matchCell });
      }
      return out;
    };
    this.all = {
      check: forVariety('check', 'handleCheck'),
      report: forVariety('report', 'handleReport'),
      quota: forVariety('quota', 'handleQuota'),
    };
    this.reportHandlers = slots.size;
    this.namespaceCell = kept ? kept.cell(NAMESPACE_ATTRIBUTES) : null;
  }

  private inNamespace(list: readonly RulePlan[], ns: string | undefined): RulePlan[] {
    return list.filter((p) => p.rule.namespace === this.defaultNamespace || p.rule.namespace === ns);
  }

  rules(variety: 'check' | 'report', ns: string | undefined): readonly RulePlan[] {
    let entry = this.byNs.get(ns);
    if (!entry) {
      entry = { check: this.inNamespace(this.all.check, ns), report: this.inNamespace(this.all.report, ns) };
      // namespaces come from requests: keep a bounded number of them
      if (this.byNs.size < 1000) this.byNs.set(ns, entry);
    }
    return entry[variety];
  }

  /** Rules with quota instances named `name` (the instance name or its `name.kind…` prefix form), namespace-filtered by the caller. */
  quota(name: string): readonly RulePlan[] {
    const known = this.quotaTargets.get(name);
    if (known) return known;
    const out: RulePlan[] = [];
    for (const p of this.all.quota) {
      const dispatches = p.dispatches
        .map((d) => ({ ...d, instances: d.instances.filter((i) => i.fqn === name || i.fqn.startsWith(`${name}.`)) }))
        .filter((d) => d.instances.length > 0);
      if (dispatches.length > 0) out.push({ rule: p.rule, dispatches, matchCell: null });
    }
    // quota names come from requests: keep a bounded number of them
    if (this.quotaTargets.size < 1000) this.quotaTargets.set(name, out);
    return out;
  }
}

const NO_QUOTAS: ReadonlyMap<string, QuotaArgs> = new Map();

/** Report entries whose instances go to the handlers in one call (Runtime.report). */
export const REPORT_CHUNK = 100;

/** What scopes rules to a namespace: the destination's (Runtime.namespaceOf reads them in this order). */
const NAMESPACE_ATTRIBUTES = ['destination.namespace', 'destination.service.namespace'];

/** The destination namespace that scopes rules (read through the bag, so it is a referenced attribute in Check). */
function namespaceOf(bag: Bag): string | undefined {
  return (bag.get(NAMESPACE_ATTRIBUTES[0]) ?? bag.get(NAMESPACE_ATTRIBUTES[1])) as string | undefined;
}

const isPromise = <T>(v: T | Promise<T>): v is Promise<T> =>
  typeof (v as { then?: unknown } | null)?.then === 'function';

export class Runtime {
  private snapshot: Snapshot | null = null;
  private built = new Map<string, Built>();
  private plan: Plan = new Plan([], new Map(), '');
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
    this.plan = new Plan(snap.rules, next, this.opts.defaultNamespace, snap.kept);
    for (const old of reuse.values()) await old.handler.close?.();
    this.configErrors.set(snap.issues.length);
    return snap.issues;
  }

  /** With `kept` (begun on `bag`) and the rule's cell, the match's result is kept along a delta-encoded Report. */
  private matches(rule: CompiledRule, bag: Bag, kept?: KeptValues, cell?: Cell | null): boolean {
    if (!rule.match) return true;
    try {
      return (kept && cell ? kept.value(cell, rule.match, bag) : rule.match.evaluate(bag)) === true;
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
      this.matchErrors.inc({ rule: rule.fqn });
      return false;
    }
  }

  private build(
    inst: CompiledInstance,
    bag: Bag,
    handler: string,
    variety: string,
    kept?: KeptValues,
  ): Instance | null {
    try {
      return inst.build(bag, kept);
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
      this.dispatchErrors.inc({ handler, variety });
      this.log.debug({ instance: inst.fqn, err: e.message }, 'instance not built');
      return null;
    }
  }

  private checkFailed(fqn: string, e: Error): CheckResult {
    this.dispatchErrors.inc({ handler: fqn, variety: 'check' });
    this.log.warn({ handler: fqn, err: e.message }, 'check handler failed');
    return { status: { code: GrpcStatus.INTERNAL, message: e.message }, validDurationMs: 0, validUseCount: 0 };
  }

  async check(bag: Bag, quotas: ReadonlyMap<string, QuotaArgs> = NO_QUOTAS): Promise<CheckOutcome> {
    const plan = this.plan;
    const tracked = new TrackingBag(bag);
    const rules = plan.rules('check', namespaceOf(tracked));
    // every match first, then the instances of the matching rules, as Istio's dispatcher does
    const matching = rules.filter((p) => this.matches(p.rule, tracked));
    // results in call order (the first denial wins); adapters answering synchronously need no promise
    const fqns: string[] = [];
    const results: Array<CheckResult | null> = [];
    let pending: Array<Promise<void>> | null = null;
    for (const { dispatches } of matching) {
      for (const d of dispatches) {
        for (const ci of d.instances) {
          const inst = this.build(ci, tracked, d.fqn, 'check');
          if (!inst) continue;
          const slot = results.length;
          fqns.push(d.fqn);
          results.push(null);
          let res: CheckResult | Promise<CheckResult>;
          try {
            res = (d.handler.handleCheck as NonNullable<Handler['handleCheck']>)(inst);
          } catch (e) {
            res = this.checkFailed(d.fqn, e as Error);
          }
          if (isPromise(res))
            (pending ??= []).push(
              res.then(
                (r) => void (results[slot] = r),
                (e: Error) => void (results[slot] = this.checkFailed(d.fqn, e)),
              ),
            );
          else results[slot] = res;
        }
      }
    }
    if (pending) await Promise.all(pending);
    let status: RpcStatus = { code: GrpcStatus.OK, message: '' };
    let validDurationMs = this.opts.defaultValidDurationMs;
    let validUseCount = this.opts.defaultValidUseCount;
    for (let i = 0; i < results.length; i++) {
      const res = results[i];
      if (!res) continue;
      validDurationMs = Math.min(validDurationMs, res.validDurationMs);
      validUseCount = Math.min(validUseCount, res.validUseCount);
      if (res.status.code !== GrpcStatus.OK && status.code === GrpcStatus.OK)
        status = { code: res.status.code, message: `${fqns[i]}:${res.status.message}` };
    }
    const quotaOut = new Map<string, QuotaOutcome>();
    for (const [name, args] of quotas) quotaOut.set(name, await this.quota(plan, bag, name, args));
    this.checks.inc({ code: String(status.code) });
    return { status, validDurationMs, validUseCount, references: tracked.references(), quotas: quotaOut };
  }

  private async quota(plan: Plan, bag: Bag, name: string, args: QuotaArgs): Promise<QuotaOutcome> {
    const tracked = new TrackingBag(bag);
    let out: QuotaOutcome | null = null;
    const ns = namespaceOf(tracked);
    for (const { rule, dispatches } of plan.quota(name)) {
      if (rule.namespace !== this.opts.defaultNamespace && rule.namespace !== ns) continue;
      if (!this.matches(rule, tracked)) continue;
      for (const d of dispatches) {
        for (const ci of d.instances) {
          const inst = this.build(ci, tracked, d.fqn, 'quota');
          if (!inst) continue;
          try {
            const r = await (d.handler.handleQuota as NonNullable<Handler['handleQuota']>)(inst, args);
            if (!out || r.amount < out.amount) out = { ...r, references: [] };
          } catch (e) {
            this.dispatchErrors.inc({ handler: d.fqn, variety: 'quota' });
            this.log.warn({ handler: d.fqn, err: (e as Error).message }, 'quota handler failed');
          }
        }
      }
    }
    const result = out ?? { amount: args.amount, validDurationMs: this.opts.defaultValidDurationMs, references: [] };
    result.references = tracked.references();
    return result;
  }

  async report(bags: readonly Bag[]): Promise<void> {
    const plan = this.plan;
    // per handler (Dispatch.slot) the instances to send it; `order`: the handlers in the order
    // they first got one
    const perHandler: Array<{ fqn: string; handler: Handler; instances: Instance[] } | undefined> = new Array(
      plan.reportHandlers,
    );
    const order: number[] = [];
    const calls: Array<Promise<void>> = [];
    // The instances go to their handlers every REPORT_CHUNK entries rather than once at the end
    // of the request: a 1,000-entry batch's instances and their fields (~1 MB) then no longer
    // live until the last entry is built, so they die young (scavenges copied and promoted them).
    const dispatch = () => {
      for (const i of order) {
        calls.push(this.callReport(perHandler[i] as NonNullable<(typeof perHandler)[number]>));
        perHandler[i] = undefined;
      }
      order.length = 0;
    };
    // fields are evaluated once per bag for all instances, and kept along the entries of a
    // delta-encoded Report while the attributes they read do not change (see KeptValues); so
    // are the rule matches and the namespace
    const kept = plan.kept ?? undefined;
    const nsCell = plan.namespaceCell;
    let lastNs: string | undefined;
    let rules: readonly RulePlan[] | null = null;
    try {
      for (let n = 0; n < bags.length; n++) {
        const bag = bags[n];
        kept?.begin(bag);
        const ns = kept && nsCell ? kept.computed(nsCell, namespaceOf, bag) : namespaceOf(bag);
        if (rules === null || ns !== lastNs) {
          rules = plan.rules('report', ns);
          lastNs = ns;
        }
        for (const { rule, dispatches, matchCell } of rules) {
          if (!this.matches(rule, bag, kept, matchCell)) continue;
          for (const d of dispatches) {
            let slot = perHandler[d.slot];
            for (const ci of d.instances) {
              const inst = this.build(ci, bag, d.fqn, 'report', kept);
              if (!inst) continue;
              if (!slot) {
                perHandler[d.slot] = slot = { fqn: d.fqn, handler: d.handler, instances: [] };
                order.push(d.slot);
              }
              slot.instances.push(inst);
            }
          }
        }
        if ((n + 1) % REPORT_CHUNK === 0) dispatch();
      }
      dispatch();
    } finally {
      kept?.end();
    }
    this.reports.inc(bags.length);
    await Promise.all(calls);
  }

  /** One handleReport call; a failure is counted and logged, not thrown. */
  private async callReport(to: { fqn: string; handler: Handler; instances: Instance[] }): Promise<void> {
    try {
      await (to.handler.handleReport as NonNullable<Handler['handleReport']>)(to.instances);
    } catch (e) {
      this.dispatchErrors.inc({ handler: to.fqn, variety: 'report' });
      this.log.warn({ handler: to.fqn, err: (e as Error).message }, 'report handler failed');
    }
  }

  async close(): Promise<void> {
    for (const b of this.built.values()) await b.handler.close?.();
    this.built.clear();
  }
}
