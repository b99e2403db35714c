/**
 * Outlier detection (envoy.config.cluster.v3.OutlierDetection): consecutive 5xx and consecutive
 * gateway failures eject a host at once (subject to `enforcing_*` and `max_ejection_percent`);
 * a sweep every `interval` brings hosts back after `base_ejection_time × times ejected`.
 */
import { parseDuration, type Clock, type FieldError, type Random, type TimerHandle } from '@tsmesh/core';
import { wrapped, type Msg } from '../engine/types';
import type { StatsStore, Counter, Gauge } from '../stats/store';
import type { Host } from './host';

export interface OutlierConfig {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  enforcing5xx: number;
  enforcingGatewayFailure: number;
  intervalMs: number;
  baseEjectionMs: number;
  maxEjectionPercent: number;
  maxEjectionMs: number;
}

export function parseOutlierConfig(m: Msg, path: string, errors: FieldError[]): OutlierConfig {
  const dur = (field: string, def: number): number => {
    if (m[field] === undefined) return def;
    const v = parseDuration(m[field]);
    if (v === null) errors.push({ path: `${path}.${field}`, message: 'invalid duration' });
    return v ?? def;
  };
  const pct = (field: string, def: number): number => {
    const v = Number(wrapped(m[field], def));
    if (!(v >= 0 && v <= 100)) errors.push({ path: `${path}.${field}`, message: 'must be 0..100' });
    return v;
  };
  return {
    consecutive5xx: Number(wrapped(m['consecutive_5xx'], 5)),
    consecutiveGatewayFailure: Number(wrapped(m['consecutive_gateway_failure'], 5)),
    enforcing5xx: pct('enforcing_consecutive_5xx', 100),
    enforcingGatewayFailure: pct('enforcing_consecutive_gateway_failure', 0),
    intervalMs: dur('interval', 10000),
    baseEjectionMs: dur('base_ejection_time', 30000),
    maxEjectionPercent: pct('max_ejection_percent', 10),
    maxEjectionMs: dur('max_ejection_time', 300000),
  };
}

export class OutlierDetector {
  private timer: TimerHandle | null = null;
  private readonly ejectionsActive: Gauge;
  private readonly ejectionsTotal: Counter;
  private readonly enforcedTotal: Counter;
  private readonly overflow: Counter;
  private readonly detected5xx: Counter;
  private readonly enforced5xx: Counter;
  private readonly detectedGw: Counter;
  private readonly enforcedGw: Counter;

  constructor(
    private readonly config: OutlierConfig,
    private hosts: readonly Host[],
    private readonly clock: Clock,
    private readonly random: Random,
    stats: StatsStore,
    statPrefix: string,
    private readonly onChange: () => void,
  ) {
    const s = (n: string) => stats.counter(`${statPrefix}outlier_detection.${n}`);
    this.ejectionsActive = stats.gauge(`${statPrefix}outlier_detection.ejections_active`);
    this.ejectionsTotal = s('ejections_total');
    this.enforcedTotal = s('ejections_enforced_total');
    this.overflow = s('ejections_overflow');
    this.detected5xx = s('ejections_detected_consecutive_5xx');
    this.enforced5xx = s('ejections_enforced_consecutive_5xx');
    this.detectedGw = s('ejections_detected_consecutive_gateway_failure');
    this.enforcedGw = s('ejections_enforced_consecutive_gateway_failure');
    this.timer = clock.setInterval(() => this.sweep(), config.intervalMs);
  }

  setHosts(hosts: readonly Host[]): void {
    this.hosts = hosts;
    this.ejectionsActive.set(hosts.filter((h) => h.ejected).length);
  }

  /** A response (or a connect failure, reported as 503 with gateway=true) from `host`. */
  record(host: Host, status: number, gatewayFailure: boolean): void {
    const c = this.config;
    if (status >= 500) host.consecutive5xx++;
    else host.consecutive5xx = 0;
    if (gatewayFailure) host.consecutiveGatewayFailure++;
    else host.consecutiveGatewayFailure = 0;
    if (host.ejected) return;
    if (c.consecutiveGatewayFailure > 0 && host.consecutiveGatewayFailure >= c.consecutiveGatewayFailure) {
      this.detectedGw.inc();
      if (this.enforce(c.enforcingGatewayFailure)) {
        if (this.eject(host)) this.enforcedGw.inc();
      }
      host.consecutiveGatewayFailure = 0;
      return;
    }
    if (c.consecutive5xx > 0 && host.consecutive5xx >= c.consecutive5xx) {
      this.detected5xx.inc();
      if (this.enforce(c.enforcing5xx)) {
        if (this.eject(host)) this.enforced5xx.inc();
      }
      host.consecutive5xx = 0;
    }
  }

  private enforce(percent: number): boolean {
    return percent >= 100 || this.random.next() * 100 < percent;
  }

  private eject(host: Host): boolean {
    const active = this.hosts.filter((h) => h.ejected).length;
    // At least one host is always ejectable (Envoy), otherwise the percentage caps it.
    if (active > 0 && ((active + 1) / this.hosts.length) * 100 > this.config.maxEjectionPercent) {
      this.overflow.inc();
      return false;
    }
    host.timesEjected++;
    host.ejected = true;
    const ms = Math.min(
      this.config.baseEjectionMs * host.timesEjected,
      Math.max(this.config.maxEjectionMs, this.config.baseEjectionMs),
    );
    host.ejectedUntil = this.clock.monotonic() + ms;
    this.ejectionsTotal.inc();
    this.enforcedTotal.inc();
    this.ejectionsActive.set(active + 1);
    this.onChange();
    return true;
  }

  /** Interval sweep: un-eject hosts whose time is up. */
  sweep(): void {
    const now = this.clock.monotonic();
    let changed = false;
    for (const h of this.hosts) {
      if (h.ejected && h.ejectedUntil <= now) {
        h.ejected = false;
        h.consecutive5xx = 0;
        h.consecutiveGatewayFailure = 0;
        changed = true;
      }
    }
    if (changed) {
      this.ejectionsActive.set(this.hosts.filter((h) => h.ejected).length);
      this.onChange();
    }
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }
}
