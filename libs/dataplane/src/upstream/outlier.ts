/**
 * Outlier detection (envoy.config.cluster.v3.OutlierDetection): consecutive 5xx and consecutive
 * gateway failures eject a host at once (subject to `max_ejection_percent`, then `enforcing_*`);
 * a sweep every `interval` brings hosts back after `base_ejection_time × times ejected`.
 *
 * `max_ejection_percent` follows Envoy's v3 rule since mid-2023 (envoyproxy/envoy#27624, #27909,
 * the Envoys of current Istio 1.x): a host is ejected only if the ejected share *after* ejecting it
 * stays within the maximum, so 3 hosts at the default 10 % eject none. `always_eject_one_host`
 * (Envoy 1.31) restores the older guarantee that a first host may always be ejected.
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
  /** Eject a host when none is ejected yet, whatever `max_ejection_percent` says. */
  alwaysEjectOneHost: boolean;
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
    alwaysEjectOneHost: Boolean(wrapped(m['always_eject_one_host'], false)),
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
      this.eject(host, c.enforcingGatewayFailure, this.enforcedGw, false);
      host.consecutiveGatewayFailure = 0;
      return;
    }
    if (c.consecutive5xx > 0 && host.consecutive5xx >= c.consecutive5xx) {
      this.detected5xx.inc();
      this.eject(host, c.enforcing5xx, this.enforced5xx, true);
      host.consecutive5xx = 0;
    }
  }

  /** Whether one more ejection keeps the ejected share within `max_ejection_percent` (see the file comment). */
  private ejectionAllowed(active: number): boolean {
    if (active === 0 && this.config.alwaysEjectOneHost) return true;
    return (100 * (active + 1)) / this.hosts.length <= Math.min(100, this.config.maxEjectionPercent);
  }

  /**
   * Envoy's order: the percentage check first (a refusal counts `ejections_overflow` and draws no
   * enforcement roll), then the legacy `ejections_total` (consecutive 5xx only), then `enforcing_*`.
   */
  private eject(host: Host, enforcing: number, enforcedStat: Counter, countsInLegacyTotal: boolean): void {
    const active = this.hosts.filter((h) => h.ejected).length;
    if (!this.ejectionAllowed(active)) {
      this.overflow.inc();
      return;
    }
    if (countsInLegacyTotal) this.ejectionsTotal.inc();
    if (!(enforcing >= 100 || this.random.next() * 100 < enforcing)) return;
    host.timesEjected++;
    host.ejected = true;
    const ms = Math.min(
      this.config.baseEjectionMs * host.timesEjected,
      Math.max(this.config.maxEjectionMs, this.config.baseEjectionMs),
    );
    host.ejectedUntil = this.clock.monotonic() + ms;
    this.enforcedTotal.inc();
    enforcedStat.inc();
    this.ejectionsActive.set(active + 1);
    this.onChange();
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
