/**
 * A cluster's declared stats, Envoy names under `cluster.<name>.`, created once per cluster so
 * the request path only bumps numbers. Response-code counters are created lazily per code.
 */
import type { Counter, Gauge, Histogram, StatsStore } from '../stats/store';

export class ClusterStats {
  readonly prefix: string;
  readonly rqTotal: Counter;
  readonly rqActive: Gauge;
  readonly rqPendingActive: Gauge;
  readonly rqPendingOverflow: Counter;
  readonly rqRetry: Counter;
  readonly rqRetrySuccess: Counter;
  readonly rqRetryOverflow: Counter;
  readonly rqRetryLimitExceeded: Counter;
  readonly rqTimeout: Counter;
  readonly rqPerTryTimeout: Counter;
  readonly rqTime: Histogram;
  readonly cxTotal: Counter;
  readonly cxActive: Gauge;
  readonly cxConnectFail: Counter;
  readonly cxConnectTimeout: Counter;
  readonly cxOverflow: Counter;
  readonly noHealthy: Counter;
  readonly rqRxReset: Counter;
  readonly rqTxReset: Counter;
  readonly cbCxOpen: Gauge;
  readonly cbRqPendingOpen: Gauge;
  readonly cbRqOpen: Gauge;
  readonly cbRqRetryOpen: Gauge;
  readonly membershipTotal: Gauge;
  readonly membershipHealthy: Gauge;
  private readonly byCode = new Map<number, Counter>();
  private readonly byClass: Counter[] = [];

  constructor(
    private readonly store: StatsStore,
    readonly clusterName: string,
  ) {
    const p = (this.prefix = `cluster.${clusterName}.`);
    const labels = { cluster_name: clusterName };
    const c = (n: string) => store.counter(p + n, { base: `cluster.${n}`, labels });
    const g = (n: string) => store.gauge(p + n, { base: `cluster.${n}`, labels });
    this.rqTotal = c('upstream_rq_total');
    this.rqActive = g('upstream_rq_active');
    this.rqPendingActive = g('upstream_rq_pending_active');
    this.rqPendingOverflow = c('upstream_rq_pending_overflow');
    this.rqRetry = c('upstream_rq_retry');
    this.rqRetrySuccess = c('upstream_rq_retry_success');
    this.rqRetryOverflow = c('upstream_rq_retry_overflow');
    this.rqRetryLimitExceeded = c('upstream_rq_retry_limit_exceeded');
    this.rqTimeout = c('upstream_rq_timeout');
    this.rqPerTryTimeout = c('upstream_rq_per_try_timeout');
    this.rqTime = store.histogram(p + 'upstream_rq_time', { base: 'cluster.upstream_rq_time', labels });
    this.cxTotal = c('upstream_cx_total');
    this.cxActive = g('upstream_cx_active');
    this.cxConnectFail = c('upstream_cx_connect_fail');
    this.cxConnectTimeout = c('upstream_cx_connect_timeout');
    this.cxOverflow = c('upstream_cx_overflow');
    this.noHealthy = c('upstream_cx_none_healthy');
    this.rqRxReset = c('upstream_rq_rx_reset');
    this.rqTxReset = c('upstream_rq_tx_reset');
    this.cbCxOpen = g('circuit_breakers.default.cx_open');
    this.cbRqPendingOpen = g('circuit_breakers.default.rq_pending_open');
    this.cbRqOpen = g('circuit_breakers.default.rq_open');
    this.cbRqRetryOpen = g('circuit_breakers.default.rq_retry_open');
    this.membershipTotal = g('membership_total');
    this.membershipHealthy = g('membership_healthy');
    for (let i = 1; i <= 5; i++) {
      this.byClass[i] = store.counter(`${p}upstream_rq_${i}xx`, {
        base: 'cluster.upstream_rq_xx',
        labels: { cluster_name: clusterName, response_code_class: `${i}xx` },
      });
    }
  }

  /** `upstream_rq_<code>` and `upstream_rq_<class>xx`. */
  recordStatus(status: number): void {
    let c = this.byCode.get(status);
    if (!c) {
      c = this.store.counter(`${this.prefix}upstream_rq_${status}`, {
        base: 'cluster.upstream_rq',
        labels: { cluster_name: this.clusterName, response_code: String(status) },
      });
      this.byCode.set(status, c);
    }
    c.inc();
    const cls = Math.floor(status / 100);
    if (cls >= 1 && cls <= 5) this.byClass[cls].inc();
  }
}
