/** HttpConnectionManager stats under `http.<stat_prefix>.` (Envoy names). */
import type { Counter, Gauge, Histogram, StatsStore } from '../stats/store';

export class HcmStats {
  readonly rqTotal: Counter;
  readonly rqActive: Gauge;
  readonly rqHttp1: Counter;
  readonly rqHttp2: Counter;
  readonly rqTime: Histogram;
  readonly cxTotal: Counter;
  readonly cxActive: Gauge;
  readonly cxHttp1Total: Counter;
  readonly cxHttp1Active: Gauge;
  readonly cxHttp2Total: Counter;
  readonly cxHttp2Active: Gauge;
  readonly cxSslTotal: Counter;
  readonly cxSslActive: Gauge;
  readonly cxDestroyRemote: Counter;
  readonly noRoute: Counter;
  readonly noCluster: Counter;
  readonly rqRedirect: Counter;
  readonly rqDirectResponse: Counter;
  readonly rqTimeout: Counter;
  readonly rqIdleTimeout: Counter;
  readonly rqRxReset: Counter;
  readonly rqCompleted: Counter;
  readonly headerOverflow: Counter;
  readonly rqBadRequest: Counter;
  readonly cxUpgrades: Counter;
  private readonly byClass: Counter[] = [];

  constructor(store: StatsStore, statPrefix: string) {
    const p = `http.${statPrefix}.`;
    const labels = { http_conn_manager_prefix: statPrefix };
    const c = (n: string) => store.counter(p + n, { base: `http.${n}`, labels });
    const g = (n: string) => store.gauge(p + n, { base: `http.${n}`, labels });
    this.rqTotal = c('downstream_rq_total');
    this.rqActive = g('downstream_rq_active');
    this.rqHttp1 = c('downstream_rq_http1_total');
    this.rqHttp2 = c('downstream_rq_http2_total');
    this.rqTime = store.histogram(p + 'downstream_rq_time', { base: 'http.downstream_rq_time', labels });
    this.cxTotal = c('downstream_cx_total');
    this.cxActive = g('downstream_cx_active');
    this.cxHttp1Total = c('downstream_cx_http1_total');
    this.cxHttp1Active = g('downstream_cx_http1_active');
    this.cxHttp2Total = c('downstream_cx_http2_total');
    this.cxHttp2Active = g('downstream_cx_http2_active');
    this.cxSslTotal = c('downstream_cx_ssl_total');
    this.cxSslActive = g('downstream_cx_ssl_active');
    this.cxDestroyRemote = c('downstream_cx_destroy_remote');
    this.noRoute = c('no_route');
    this.noCluster = c('no_cluster');
    this.rqRedirect = c('rq_redirect');
    this.rqDirectResponse = c('rq_direct_response');
    this.rqTimeout = c('downstream_rq_timeout');
    this.rqIdleTimeout = c('downstream_rq_idle_timeout');
    this.rqRxReset = c('downstream_rq_rx_reset');
    this.rqCompleted = c('downstream_rq_completed');
    this.headerOverflow = c('downstream_rq_header_overflow');
    this.rqBadRequest = c('downstream_rq_bad_request');
    this.cxUpgrades = c('downstream_cx_upgrades_total');
    for (let i = 1; i <= 5; i++) {
      this.byClass[i] = store.counter(`${p}downstream_rq_${i}xx`, {
        base: 'http.downstream_rq_xx',
        labels: { ...labels, response_code_class: `${i}xx` },
      });
    }
  }

  /**
   * A connection the HCM serves: `downstream_cx_total`/`_active`, by codec (`downstream_cx_http1_*`,
   * `downstream_cx_http2_*`) and, over TLS, `downstream_cx_ssl_*`; the gauges drop on `close`.
   */
  recordConnection(socket: { once(event: 'close', cb: () => void): unknown }, h2: boolean, secure: boolean): void {
    const total = h2 ? this.cxHttp2Total : this.cxHttp1Total;
    const active = h2 ? this.cxHttp2Active : this.cxHttp1Active;
    this.cxTotal.inc();
    this.cxActive.inc();
    total.inc();
    active.inc();
    if (secure) {
      this.cxSslTotal.inc();
      this.cxSslActive.inc();
    }
    socket.once('close', () => {
      this.cxActive.dec();
      active.dec();
      if (secure) this.cxSslActive.dec();
    });
  }

  recordStatus(status: number): void {
    const cls = Math.floor(status / 100);
    if (cls >= 1 && cls <= 5) this.byClass[cls].inc();
  }
}
