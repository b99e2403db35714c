/**
 * One upstream cluster at runtime (envoy.config.cluster.v3.Cluster): discovery type (STATIC,
 * STRICT_DNS, EDS, ORIGINAL_DST), hosts with health, load balancer, circuit breakers, retry
 * budget, outlier detection, connection pool and stats. Built once per push; a cluster whose
 * config did not change is kept across pushes (pools, outlier state and counters survive).
 */
import dns from 'node:dns';
import net from 'node:net';
import { parseDuration, type Clock, type FieldError, type Logger, type Random, type TimerHandle } from '@tsmesh/core';
import { enumName, socketAddress, TYPE_URLS, wrapped, type Msg } from '../engine/types';
import { parseBufferLimit } from '../listeners/socket-helpers';
import type { StatsStore } from '../stats/store';
import { parseCircuitBreakers, RetryBudget, type CircuitBreakerConfig } from './circuit-breaker';
import { ClusterStats } from './cluster-stats';
import { Host } from './host';
import { createLoadBalancer, recordEwma, type LbContext, type LbPolicy, type LoadBalancer } from './lb';
import { OutlierDetector, parseOutlierConfig } from './outlier';
import { createPool, type PoolOptions, type UpstreamPool } from './pool';

export type DiscoveryType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';
const DISCOVERY = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'];
const LB_POLICIES = [
  'ROUND_ROBIN',
  'LEAST_REQUEST',
  'RING_HASH',
  'RANDOM',
  'MAGLEV',
  'CLUSTER_PROVIDED',
  'LOAD_BALANCING_POLICY_CONFIG',
];
const HEALTH = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'];

/** Builds TLS client options from an UpstreamTlsContext (supplied by the engine's TLS layer). */
export type UpstreamTlsResolver = (ctx: Msg, path: string, errors: FieldError[]) => PoolOptions['tls'];

export interface ClusterDeps {
  clock: Clock;
  random: Random;
  stats: StatsStore;
  logger: Logger;
  upstreamTls: UpstreamTlsResolver;
}

export interface ClusterSettings {
  name: string;
  type: DiscoveryType;
  lbPolicy: LbPolicy;
  connectTimeoutMs: number;
  http2: boolean;
  circuitBreaker: CircuitBreakerConfig;
  outlier: ReturnType<typeof parseOutlierConfig> | null;
  panicThreshold: number;
  edsServiceName: string;
  dnsRefreshMs: number;
  originalDstHeader: boolean;
  tls: PoolOptions['tls'];
  minRingSize: number;
  choiceCount: number;
  /**
   * `per_connection_buffer_limit_bytes`: the soft write/read threshold of each upstream HTTP/1
   * connection and of each tcp_proxy upstream connection (0 = no limit). Unset: node's socket
   * thresholds (16 KiB), below Envoy's 1 MiB.
   */
  bufferLimitBytes?: number;
}

export function parseCluster(m: Msg, errors: FieldError[], deps: Pick<ClusterDeps, 'upstreamTls'>): ClusterSettings {
  const name = String(m['name'] ?? '');
  if (!name) errors.push({ path: 'name', message: 'cluster name is required' });
  const type = enumName(m['type'], DISCOVERY, 'STATIC') as DiscoveryType;
  if (!DISCOVERY.includes(type)) errors.push({ path: 'type', message: `unsupported discovery type ${type}` });
  let lbPolicy = enumName(m['lb_policy'], LB_POLICIES, 'ROUND_ROBIN') as LbPolicy;
  const tsmeshMeta = m['metadata']?.['filter_metadata']?.['tsmesh'] as Msg | undefined;
  if (tsmeshMeta?.['lb_policy'] === 'PEAK_EWMA') lbPolicy = 'PEAK_EWMA';
  if (
    !['ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH', 'RANDOM', 'MAGLEV', 'PEAK_EWMA', 'CLUSTER_PROVIDED'].includes(
      lbPolicy,
    )
  ) {
    errors.push({ path: 'lb_policy', message: `unsupported lb_policy ${lbPolicy}` });
  }
  const ct = m['connect_timeout'] === undefined ? 5000 : parseDuration(m['connect_timeout']);
  if (ct === null || ct <= 0) errors.push({ path: 'connect_timeout', message: 'must be a positive duration' });
  const hpo = m['typed_extension_protocol_options']?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'] as
    Msg | undefined;
  const http2 =
    m['http2_protocol_options'] !== undefined ||
    hpo?.['explicit_http_config']?.['http2_protocol_options'] !== undefined;
  let tls: PoolOptions['tls'] = null;
  const ts = m['transport_socket'] as Msg | undefined;
  if (ts && (ts['name'] === 'envoy.transport_sockets.tls' || ts['typed_config']?.['@type'] === TYPE_URLS.upstreamTls)) {
    tls = deps.upstreamTls(ts['typed_config'] ?? {}, 'transport_socket.typed_config', errors);
  }
  if (type === 'EDS' || type === 'ORIGINAL_DST') {
    // endpoints come from EDS / the request
  } else if (!m['load_assignment']) {
    errors.push({ path: 'load_assignment', message: `${type} cluster needs load_assignment` });
  }
  const panic = m['common_lb_config']?.['healthy_panic_threshold'];
  const dnsRefresh = m['dns_refresh_rate'] === undefined ? 5000 : (parseDuration(m['dns_refresh_rate']) ?? 5000);
  return {
    name,
    type,
    lbPolicy,
    connectTimeoutMs: ct ?? 5000,
    http2,
    circuitBreaker: parseCircuitBreakers(m['circuit_breakers'], 'circuit_breakers', errors),
    outlier: m['outlier_detection'] ? parseOutlierConfig(m['outlier_detection'], 'outlier_detection', errors) : null,
    panicThreshold: panic === undefined ? 50 : Number(panic['value'] ?? panic),
    edsServiceName: String(m['eds_cluster_config']?.['service_name'] || name),
    dnsRefreshMs: dnsRefresh,
    originalDstHeader: m['original_dst_lb_config']?.['use_http_header'] === true,
    tls,
    minRingSize: Number(wrapped(m['ring_hash_lb_config']?.['minimum_ring_size'], 1024)),
    choiceCount: Number(wrapped(m['least_request_lb_config']?.['choice_count'], 2)),
    bufferLimitBytes: parseBufferLimit(
      m['per_connection_buffer_limit_bytes'],
      'per_connection_buffer_limit_bytes',
      errors,
    ),
  };
}

export interface Endpoint {
  address: string;
  port: number;
  weight: number;
  healthy: boolean;
  /** The endpoint's `hostname` ('' when unset). */
  hostname: string;
  metadata: Record<string, unknown>;
}

/** Endpoints of a ClusterLoadAssignment as `{address, port, weight, healthy, hostname}`. */
export function parseLoadAssignment(cla: Msg | undefined, path: string, errors: FieldError[]): Endpoint[] {
  const out: Endpoint[] = [];
  ((cla?.['endpoints'] as Msg[] | undefined) ?? []).forEach((loc, li) => {
    ((loc['lb_endpoints'] as Msg[] | undefined) ?? []).forEach((ep, ei) => {
      const p = `${path}.endpoints[${li}].lb_endpoints[${ei}]`;
      const sa = socketAddress(ep['endpoint']?.['address']);
      if (!sa || !sa.host || !(sa.port >= 0 && sa.port <= 65535)) {
        errors.push({ path: `${p}.endpoint.address.socket_address`, message: 'address and port_value are required' });
        return;
      }
      const hs = enumName(ep['health_status'], HEALTH, 'UNKNOWN');
      out.push({
        address: sa.host,
        port: sa.port,
        weight: Number(wrapped(ep['load_balancing_weight'], 1)) || 1,
        healthy: hs === 'UNKNOWN' || hs === 'HEALTHY' || hs === 'DEGRADED',
        hostname: String(ep['endpoint']?.['hostname'] ?? ''),
        metadata: (ep['metadata']?.['filter_metadata'] as Record<string, unknown>) ?? {},
      });
    });
  });
  return out;
}

export class Cluster {
  readonly stats: ClusterStats;
  hosts: Host[] = [];
  private eligible: Host[] = [];
  private readonly lb: LoadBalancer;
  private readonly outlier: OutlierDetector | null;
  readonly pool: UpstreamPool;
  readonly budget: RetryBudget | null;
  rqActive = 0;
  rqPending = 0;
  retriesActive = 0;
  private dnsTimer: TimerHandle | null = null;
  private readonly originalDst = new Map<string, Host>();
  stopped = false;

  constructor(
    readonly settings: ClusterSettings,
    readonly config: Msg,
    private readonly deps: ClusterDeps,
  ) {
    this.stats = new ClusterStats(deps.stats, settings.name);
    this.lb = createLoadBalancer(settings.lbPolicy, deps.random, {
      choiceCount: settings.choiceCount,
      minRingSize: settings.minRingSize,
      now: () => deps.clock.monotonic(),
    });
    const cb = settings.circuitBreaker;
    this.budget = cb.budget ? new RetryBudget(deps.clock, cb.budget.ratio, cb.budget.minPerSecond) : null;
    this.pool = createPool({
      clock: deps.clock,
      connectTimeoutMs: settings.connectTimeoutMs,
      maxConnections: cb.maxConnections,
      http2: settings.http2,
      tls: settings.tls,
      stats: this.stats,
      bufferLimitBytes: settings.bufferLimitBytes,
    });
    this.outlier = settings.outlier
      ? new OutlierDetector(settings.outlier, [], deps.clock, deps.random, deps.stats, this.stats.prefix, () =>
          this.refresh(),
        )
      : null;
    if (settings.type === 'STATIC' || settings.type === 'STRICT_DNS' || settings.type === 'LOGICAL_DNS') {
      let eps = parseLoadAssignment(config['load_assignment'], 'load_assignment', []);
      // A DNS cluster's host is named by its DNS address unless the endpoint names it (Envoy).
      if (settings.type !== 'STATIC') eps = eps.map((e) => ({ ...e, hostname: e.hostname || e.address }));
      if (settings.type === 'STATIC' || eps.every((e) => net.isIP(e.address))) this.setHosts(eps);
      else this.startDns(eps);
    }
  }

  /** EDS update (ClusterLoadAssignment). Hosts with the same address keep their state. */
  setEndpoints(cla: Msg | undefined): void {
    if (this.settings.type !== 'EDS') return;
    this.setHosts(parseLoadAssignment(cla, 'endpoints', []));
  }

  private setHosts(eps: Endpoint[]): void {
    const old = new Map(this.hosts.map((h) => [h.key, h]));
    this.hosts = eps.map((e) => {
      const fresh = new Host(e.address, e.port, e.weight);
      const h = old.get(fresh.key) ?? fresh;
      h.weight = e.weight;
      h.edsHealthy = e.healthy;
      h.metadata = e.metadata;
      h.hostname = e.hostname;
      return h;
    });
    this.outlier?.setHosts(this.hosts);
    this.refresh();
  }

  private startDns(eps: Endpoint[]): void {
    const resolve = async () => {
      const all: Endpoint[] = [];
      for (const e of eps) {
        try {
          const addrs = await dns.promises.lookup(e.address, { all: true });
          for (const a of addrs) all.push({ ...e, address: a.address });
        } catch (err) {
          this.deps.logger.warn(
            { cluster: this.settings.name, host: e.address, err: String(err) },
            'dns resolution failed',
          );
        }
      }
      if (!this.stopped) this.setHosts(all);
    };
    void resolve();
    this.dnsTimer = this.deps.clock.setInterval(() => void resolve(), this.settings.dnsRefreshMs);
  }

  /** Recomputes the eligible host list (healthy, or all of them in panic mode). */
  refresh(): void {
    const healthy = this.hosts.filter((h) => h.healthy);
    const panic = this.hosts.length > 0 && (healthy.length / this.hosts.length) * 100 < this.settings.panicThreshold;
    this.eligible = panic ? this.hosts : healthy;
    this.lb.update(this.eligible);
    this.stats.membershipTotal.set(this.hosts.length);
    this.stats.membershipHealthy.set(healthy.length);
  }

  /** Picks a host; null means no healthy upstream (UH). `originalDst` feeds ORIGINAL_DST clusters. */
  chooseHost(ctx: LbContext, originalDst?: string): Host | null {
    if (this.settings.type === 'ORIGINAL_DST') {
      if (!originalDst) return null;
      let h = this.originalDst.get(originalDst);
      if (!h) {
        const colon = originalDst.lastIndexOf(':');
        const port = Number(originalDst.slice(colon + 1));
        if (colon <= 0 || !(port > 0)) return null;
        h = new Host(originalDst.slice(0, colon).replace(/^\[|\]$/g, ''), port);
        if (this.originalDst.size > 10000) this.originalDst.clear();
        this.originalDst.set(originalDst, h);
      }
      return h;
    }
    return this.lb.choose(ctx);
  }

  /** Admission for a new request under max_requests / max_pending_requests. */
  admit(): boolean {
    const cb = this.settings.circuitBreaker;
    if (this.rqActive >= cb.maxRequests) return false;
    if (!this.settings.http2 && this.rqActive >= cb.maxConnections + cb.maxPendingRequests) return false;
    return true;
  }

  /** Updates the breaker gauges after an admission change. */
  updateBreakerGauges(): void {
    const cb = this.settings.circuitBreaker;
    const pending = this.settings.http2 ? 0 : Math.max(0, this.rqActive - cb.maxConnections);
    this.rqPending = pending;
    this.stats.setBreakerGauges(
      this.rqActive >= cb.maxRequests ? 1 : 0,
      pending,
      pending >= cb.maxPendingRequests ? 1 : 0,
      this.pool.connections() >= cb.maxConnections ? 1 : 0,
      this.retriesActive >= cb.maxRetries ? 1 : 0,
    );
  }

  /** May one more retry start (max_retries or the retry budget)? */
  canRetry(): boolean {
    if (this.budget) return this.budget.tryWithdraw();
    return this.retriesActive < this.settings.circuitBreaker.maxRetries;
  }

  /** Outcome of one attempt on `host`, for outlier detection and latency-aware balancing. */
  recordResult(host: Host, status: number, gatewayFailure: boolean, latencyMs: number): void {
    if (status >= 500 || gatewayFailure) host.rqError++;
    else host.rqSuccess++;
    if (this.settings.lbPolicy === 'PEAK_EWMA') recordEwma(host, latencyMs, this.deps.clock.monotonic());
    this.outlier?.record(host, status, gatewayFailure);
  }

  stop(): void {
    this.stopped = true;
    this.outlier?.stop();
    this.dnsTimer?.cancel();
    this.pool.close();
  }
}
