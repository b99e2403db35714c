/**
 * One upstream endpoint (Envoy's Host): address, weight, health flags, outlier state and the
 * per-host counters `/clusters` shows (cx_active, rq_total, rq_success, rq_error, …).
 */
export class Host {
  readonly key: string;
  weight: number;
  /** EDS health: false when `health_status` is UNHEALTHY/DRAINING/TIMEOUT. */
  edsHealthy = true;
  /** Outlier ejection (`/failed_outlier_check`). */
  ejected = false;
  ejectedUntil = 0;
  timesEjected = 0;
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  rqActive = 0;
  rqTotal = 0;
  rqSuccess = 0;
  rqError = 0;
  rqTimeout = 0;
  cxActive = 0;
  cxTotal = 0;
  cxConnectFail = 0;
  /** Peak-EWMA latency estimate (ms) and when it was last updated (monotonic ms). */
  ewmaMs = 0;
  ewmaAt = 0;
  /** DNS name (STRICT_DNS/LOGICAL_DNS) or the endpoint's `hostname`; '' when neither (auto_host_rewrite). */
  hostname = '';
  /** Free-form metadata from the endpoint (e.g. `istio` labels). */
  metadata: Record<string, unknown> = {};

  constructor(
    readonly address: string,
    readonly port: number,
    weight = 1,
  ) {
    this.key = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    this.weight = weight;
  }

  get healthy(): boolean {
    return this.edsHealthy && !this.ejected;
  }

  /** Envoy's `/clusters` health flags string. */
  healthFlags(): string {
    const flags: string[] = [];
    if (!this.edsHealthy) flags.push('/failed_eds_health');
    if (this.ejected) flags.push('/failed_outlier_check');
    return flags.length ? flags.join('') : 'healthy';
  }
}
