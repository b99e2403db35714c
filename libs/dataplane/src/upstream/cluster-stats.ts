/**
 * A cluster's declared stats, Envoy names under `cluster.<name>.`. They are declared once per
 * cluster (so `/stats` lists every one of them, zeros included, as Envoy does) and each gets its
 * object on first use: a sidecar holds a cluster per service and port, inbound and outbound,
 * and most of their stats stay zero (issue #4, sidecar RSS). Response-code counters are created
 * per code as they occur, as before.
 */
import type { Counter, Gauge, Histogram, StatGroup, StatSpec, StatsStore } from '../stats/store';

const SPECS: StatSpec[] = [];
const spec = (kind: StatSpec['kind'], suffix: string, base = `cluster.${suffix}`, labels?: Record<string, string>) =>
  SPECS.push({ kind, suffix, base, labels }) - 1;

const RQ_TOTAL = spec('counter', 'upstream_rq_total');
const RQ_ACTIVE = spec('gauge', 'upstream_rq_active');
const RQ_PENDING_ACTIVE = spec('gauge', 'upstream_rq_pending_active');
const RQ_PENDING_OVERFLOW = spec('counter', 'upstream_rq_pending_overflow');
const RQ_RETRY = spec('counter', 'upstream_rq_retry');
const RQ_RETRY_SUCCESS = spec('counter', 'upstream_rq_retry_success');
const RQ_RETRY_OVERFLOW = spec('counter', 'upstream_rq_retry_overflow');
/** A request body outgrew the retry/shadow buffer: no more retries or mirrors for it (Envoy's name). */
const RETRY_OR_SHADOW_ABANDONED = spec('counter', 'retry_or_shadow_abandoned');
const RQ_RETRY_LIMIT_EXCEEDED = spec('counter', 'upstream_rq_retry_limit_exceeded');
const RQ_TIMEOUT = spec('counter', 'upstream_rq_timeout');
const RQ_PER_TRY_TIMEOUT = spec('counter', 'upstream_rq_per_try_timeout');
const RQ_TIME = spec('histogram', 'upstream_rq_time');
const CX_TOTAL = spec('counter', 'upstream_cx_total');
const CX_ACTIVE = spec('gauge', 'upstream_cx_active');
const CX_HTTP1_TOTAL = spec('counter', 'upstream_cx_http1_total');
const CX_HTTP2_TOTAL = spec('counter', 'upstream_cx_http2_total');
const CX_CONNECT_FAIL = spec('counter', 'upstream_cx_connect_fail');
const CX_CONNECT_TIMEOUT = spec('counter', 'upstream_cx_connect_timeout');
const CX_OVERFLOW = spec('counter', 'upstream_cx_overflow');
const CX_NONE_HEALTHY = spec('counter', 'upstream_cx_none_healthy');
const RQ_RX_RESET = spec('counter', 'upstream_rq_rx_reset');
const RQ_TX_RESET = spec('counter', 'upstream_rq_tx_reset');
const CB_CX_OPEN = spec('gauge', 'circuit_breakers.default.cx_open');
const CB_RQ_PENDING_OPEN = spec('gauge', 'circuit_breakers.default.rq_pending_open');
const CB_RQ_OPEN = spec('gauge', 'circuit_breakers.default.rq_open');
const CB_RQ_RETRY_OPEN = spec('gauge', 'circuit_breakers.default.rq_retry_open');
const MEMBERSHIP_TOTAL = spec('gauge', 'membership_total');
const MEMBERSHIP_HEALTHY = spec('gauge', 'membership_healthy');
/** `upstream_rq_<i>xx` is at CLASS + i - 1. */
const CLASS = SPECS.length;
for (let i = 1; i <= 5; i++)
  spec('counter', `upstream_rq_${i}xx`, 'cluster.upstream_rq_xx', { response_code_class: `${i}xx` });

export class ClusterStats {
  readonly prefix: string;
  private readonly group: StatGroup;
  /** The stats used so far, by spec index. */
  private readonly s: (Counter | Gauge | Histogram | undefined)[] = new Array(SPECS.length).fill(undefined);
  private readonly byCode = new Map<number, Counter>();

  constructor(
    private readonly store: StatsStore,
    readonly clusterName: string,
  ) {
    this.prefix = `cluster.${clusterName}.`;
    this.group = store.declare(this.prefix, SPECS, { cluster_name: clusterName });
  }

  private c(i: number): Counter {
    return (this.s[i] ??= this.group.counter(i)) as Counter;
  }
  private g(i: number): Gauge {
    return (this.s[i] ??= this.group.gauge(i)) as Gauge;
  }
  /** Sets a gauge, leaving it without an object (it reads 0) while it stays 0. */
  private set(i: number, v: number): void {
    const g = this.s[i] as Gauge | undefined;
    if (g) g.value = v;
    else if (v !== 0) this.g(i).value = v;
  }

  get rqTotal(): Counter {
    return this.c(RQ_TOTAL);
  }
  get rqActive(): Gauge {
    return this.g(RQ_ACTIVE);
  }
  get rqPendingActive(): Gauge {
    return this.g(RQ_PENDING_ACTIVE);
  }
  get rqPendingOverflow(): Counter {
    return this.c(RQ_PENDING_OVERFLOW);
  }
  get rqRetry(): Counter {
    return this.c(RQ_RETRY);
  }
  get rqRetrySuccess(): Counter {
    return this.c(RQ_RETRY_SUCCESS);
  }
  get rqRetryOverflow(): Counter {
    return this.c(RQ_RETRY_OVERFLOW);
  }
  get retryOrShadowAbandoned(): Counter {
    return this.c(RETRY_OR_SHADOW_ABANDONED);
  }
  get rqRetryLimitExceeded(): Counter {
    return this.c(RQ_RETRY_LIMIT_EXCEEDED);
  }
  get rqTimeout(): Counter {
    return this.c(RQ_TIMEOUT);
  }
  get rqPerTryTimeout(): Counter {
    return this.c(RQ_PER_TRY_TIMEOUT);
  }
  get rqTime(): Histogram {
    return (this.s[RQ_TIME] ??= this.group.histogram(RQ_TIME)) as Histogram;
  }
  get cxTotal(): Counter {
    return this.c(CX_TOTAL);
  }
  get cxActive(): Gauge {
    return this.g(CX_ACTIVE);
  }
  get cxHttp1Total(): Counter {
    return this.c(CX_HTTP1_TOTAL);
  }
  get cxHttp2Total(): Counter {
    return this.c(CX_HTTP2_TOTAL);
  }
  get cxConnectFail(): Counter {
    return this.c(CX_CONNECT_FAIL);
  }
  get cxConnectTimeout(): Counter {
    return this.c(CX_CONNECT_TIMEOUT);
  }
  get cxOverflow(): Counter {
    return this.c(CX_OVERFLOW);
  }
  get noHealthy(): Counter {
    return this.c(CX_NONE_HEALTHY);
  }
  get rqRxReset(): Counter {
    return this.c(RQ_RX_RESET);
  }
  get rqTxReset(): Counter {
    return this.c(RQ_TX_RESET);
  }
  get cbCxOpen(): Gauge {
    return this.g(CB_CX_OPEN);
  }
  get cbRqPendingOpen(): Gauge {
    return this.g(CB_RQ_PENDING_OPEN);
  }
  get cbRqOpen(): Gauge {
    return this.g(CB_RQ_OPEN);
  }
  get cbRqRetryOpen(): Gauge {
    return this.g(CB_RQ_RETRY_OPEN);
  }
  get membershipTotal(): Gauge {
    return this.g(MEMBERSHIP_TOTAL);
  }
  get membershipHealthy(): Gauge {
    return this.g(MEMBERSHIP_HEALTHY);
  }

  /** The circuit-breaker gauges and `upstream_rq_pending_active`, after every admission change. */
  setBreakerGauges(
    rqOpen: number,
    rqPendingActive: number,
    rqPendingOpen: number,
    cxOpen: number,
    rqRetryOpen: number,
  ): void {
    this.set(CB_RQ_OPEN, rqOpen);
    this.set(RQ_PENDING_ACTIVE, rqPendingActive);
    this.set(CB_RQ_PENDING_OPEN, rqPendingOpen);
    this.set(CB_CX_OPEN, cxOpen);
    this.set(CB_RQ_RETRY_OPEN, rqRetryOpen);
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
    if (cls >= 1 && cls <= 5) this.c(CLASS + cls - 1).inc();
  }
}
