/** Fault filter stats: `http.<stat_prefix>.fault.{delays_injected,aborts_injected,active_faults,faults_overflow}`. */
import type { Counter, Gauge, StatsStore } from '../../../stats/store';

export class FaultStats {
  readonly delaysInjected: Counter;
  readonly abortsInjected: Counter;
  readonly activeFaults: Gauge;
  readonly faultsOverflow: Counter;
  constructor(store: StatsStore, statPrefix: string) {
    const p = `http.${statPrefix}.fault.`;
    const labels = { http_conn_manager_prefix: statPrefix };
    this.delaysInjected = store.counter(p + 'delays_injected', { base: 'http.fault.delays_injected', labels });
    this.abortsInjected = store.counter(p + 'aborts_injected', { base: 'http.fault.aborts_injected', labels });
    this.activeFaults = store.gauge(p + 'active_faults', { base: 'http.fault.active_faults', labels });
    this.faultsOverflow = store.counter(p + 'faults_overflow', { base: 'http.fault.faults_overflow', labels });
  }
}
