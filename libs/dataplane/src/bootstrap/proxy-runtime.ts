/**
 * One proxy process: the engine, the static bootstrap resources, the ADS client (when the
 * bootstrap has `dynamic_resources.ads_config`), tracing, access logs and the admin, Prometheus
 * and health servers. Implements the admin backend. Readiness is Envoy's: LIVE only once the
 * first complete config is applied, DRAINING after `/healthcheck/fail` or during shutdown.
 */
import {
  isMeshError,
  silentLogger,
  systemClock,
  systemRandom,
  type Clock,
  type Logger,
  type Random,
} from '@tsmesh/core';
import { Tracer, ZipkinExporter } from '@tsmesh/telemetry';
import { adminHandler, healthHandler, listenHttp, prometheusHandler, type BoundServer } from '../admin/admin-server';
import { buildConfigDump } from '../admin/config-dump';
import type { AdminBackend, ClusterView, ListenerView, ServerState } from '../admin/types';
import { Dataplane } from '../engine/dataplane';
import { type Msg, type Snapshot } from '../engine/types';
import type { FilterRegistry } from '../filters/types';
import { StatsStore } from '../stats/store';
import type { IdentityProvider } from '../tls/identity/types';
import { H2AdsTransport } from '../xds-client/h2-transport';
import type { AdsTransport } from '../xds-client/types';
import { XdsClient } from '../xds-client/xds-client';
import { AccessLogs } from './access-log-hook';
import { proxyMixerFilter, proxyTcpMixerFilter } from './mixer-wiring';
import { istioCertFilesToSds } from './istio-cert-files';
import { proxyErrors } from './bootstrap-errors';
import type { BootstrapInfo } from './load';
import {
  LocalRewrites,
  prepareListenersForCheck,
  prepareSnapshot,
  type LocalBindings,
  type PrepareOptions,
} from './local-rewrite';
import { responseCaptureFilter } from './response-capture-filter';
import { tracingFilterFactory } from './tracing-filter';

export const TSMESH_VERSION = '0.1.0';

export interface ProxyRuntimeOptions {
  bootstrap: BootstrapInfo;
  nodeType: 'sidecar' | 'router';
  bindings?: LocalBindings;
  /** `host:port`; empty disables. Defaults to the bootstrap's admin address. */
  adminAddress?: string;
  prometheusAddress?: string;
  healthAddress?: string;
  drainMs?: number;
  /** Percentage of requests without a sampling decision that are traced. */
  samplingPercent?: number;
  defaultAccessLog?: { path: string; encoding: 'TEXT' | 'JSON' };
  /** Registers the HTTP filters (the engine's `registerBuiltinFilters`). */
  registerFilters?: (registry: FilterRegistry) => void;
  logger?: Logger;
  clock?: Clock;
  random?: Random;
  /** Replaces the gRPC transport (tests). */
  transport?: AdsTransport;
  /** Called by `/quitquitquit`. */
  onQuit?: () => void;
  /** Recorded in `/server_info`. */
  commandLine?: Record<string, unknown>;
  /**
   * The workload identity (Citadel CSR flow or /etc/certs): the engine's provider for SDS
   * `default` / `ROOTCA`. The proxy is not ready before its first certificate.
   */
  identity?: { provider: IdentityProvider; stop(): void };
}

/**
 * Envoy accepts a STATIC cluster without `load_assignment` (no hosts; Istio 1.0's
 * `BlackHoleCluster` is exactly that); the engine wants one, so give it an empty assignment.
 */
function withEmptyAssignments(clusters: Msg[]): Msg[] {
  return clusters.map((c) =>
    (c['type'] ?? 'STATIC') === 'STATIC' && !c['load_assignment']
      ? { ...c, load_assignment: { cluster_name: c['name'], endpoints: [] } }
      : c,
  );
}

export class ProxyRuntime implements AdminBackend {
  readonly stats = new StatsStore();
  readonly dataplane: Dataplane;
  readonly tracer?: Tracer;
  readonly xds?: XdsClient;
  /** Listener name → bound `host:port`, admin servers included. */
  readonly addresses: Record<string, string> = {};
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly accessLogs = new AccessLogs();
  /** The local rewrite per received listener / route configuration: one object (one engine build) each. */
  private readonly rewrites = new LocalRewrites();
  private preparedOptions?: PrepareOptions;
  private readonly servers: BoundServer[] = [];
  private readonly mixer: ReturnType<typeof proxyMixerFilter>;
  private readonly tcpMixer: ReturnType<typeof proxyTcpMixerFilter>;
  private readonly startedAt: number;
  private exporter?: ZipkinExporter;
  private ready = false;
  private healthFailed = false;
  private draining = false;
  private level: string;

  private constructor(private readonly o: ProxyRuntimeOptions) {
    this.log = o.logger ?? silentLogger();
    this.level = this.log.level;
    this.clock = o.clock ?? systemClock;
    this.startedAt = this.clock.now();
    const node = o.bootstrap.node;
    this.dataplane = new Dataplane({
      nodeId: node.id,
      clock: this.clock,
      random: o.random ?? systemRandom,
      logger: this.log,
      stats: this.stats,
      drainMs: o.drainMs ?? 5000,
      ...(o.identity ? { tls: { provider: o.identity.provider } } : {}),
    });
    // Citadel/file providers report cert expiry and fetch failures when given a stats store.
    (o.identity?.provider as { attachStats?: (s: StatsStore) => unknown } | undefined)?.attachStats?.(this.stats);
    o.registerFilters?.(this.dataplane.filters);
    // Istio's `mixer` filter (Pilot emits it when the mesh names Mixer); its Mixer address is
    // the named cluster's endpoint in this engine.
    this.mixer = proxyMixerFilter(this.dataplane);
    this.dataplane.filters.register(this.mixer);
    this.tcpMixer = proxyTcpMixerFilter(this.dataplane);
    this.dataplane.filters.registerNetwork(this.tcpMixer);
    this.dataplane.filters.register(responseCaptureFilter);
    this.refreshState();
    const t = o.bootstrap.tracing;
    if (t) {
      this.exporter = new ZipkinExporter({
        collector: t.collector,
        path: t.path,
        clock: this.clock,
        onCount: (stat, by) => this.stats.counter(stat).inc(by),
      });
      this.tracer = new Tracer({
        serviceName: node.cluster || node.id,
        exporter: this.exporter,
        samplingPercent: o.samplingPercent ?? 100,
        clock: this.clock,
        random: o.random ?? systemRandom,
      });
      this.dataplane.filters.register(tracingFilterFactory(this.tracer));
    }
    this.dataplane.onStreamComplete(this.accessLogs.onStreamComplete);
    if (o.bootstrap.ads) {
      this.xds = new XdsClient({
        node,
        transport: o.transport ?? new H2AdsTransport({ address: o.bootstrap.ads.address }),
        sink: { validate: (t2, rs) => this.validate(t2, rs), apply: (s) => this.apply(s) },
        staticResources: o.bootstrap.staticResources,
        stats: this.stats,
        clock: this.clock,
        random: o.random,
        logger: this.log,
      });
    }
  }

  /** Binds the admin servers, applies the static config and starts xDS. */
  static async start(o: ProxyRuntimeOptions): Promise<ProxyRuntime> {
    const rt = new ProxyRuntime(o);
    try {
      await rt.startServers();
      // Config that names SDS `default`/`ROOTCA` can only be validated and applied once the
      // workload certificate is in hand, so xDS (or the static config) waits for it; the proxy
      // is not ready before either.
      const identity = o.identity?.provider;
      const xds = rt.xds;
      if (xds) {
        if (identity) void identity.ready().then(() => !rt.draining && xds.start());
        else xds.start();
        void xds.whenReady().then(() => rt.markReady());
      } else if (identity) {
        void identity
          .ready()
          .then(() => rt.apply(o.bootstrap.staticResources))
          .then(
            () => rt.markReady(),
            (e: Error) => rt.log.error({ err: e.message }, 'static configuration rejected; not ready'),
          );
      } else {
        try {
          await rt.apply(o.bootstrap.staticResources);
        } catch (e) {
          throw proxyErrors.error('PROXY_ERR_INITIAL_CONFIG', { why: (e as Error).message }, [], e);
        }
        rt.markReady();
      }
    } catch (e) {
      await rt.stop(0);
      throw e;
    }
    return rt;
  }

  private markReady(): void {
    if (this.ready) return;
    this.ready = true;
    this.refreshState();
    this.log.info({ node: this.o.bootstrap.node.id }, 'proxy is LIVE');
  }

  private async startServers(): Promise<void> {
    const bind = async (name: string, address: string | undefined, handler: Parameters<typeof listenHttp>[1]) => {
      if (!address) return;
      const s = await listenHttp(address, handler);
      this.servers.push(s);
      this.addresses[name] = s.address;
      this.log.info({ listener: name, address: s.address }, 'listening');
    };
    await bind('admin', this.o.adminAddress ?? this.o.bootstrap.adminAddress, adminHandler(this));
    await bind('prometheus', this.o.prometheusAddress, prometheusHandler(this));
    await bind('health', this.o.healthAddress, healthHandler(this));
  }

  /**
   * The xDS ACK/NACK check. An LDS update is checked as this process will run it (rewritten by
   * `prepareSnapshot`, the same objects `apply` hands the engine), so the engine builds each
   * listener once, here, and the application installs that build; errors name the user's
   * listener and fields.
   */
  private validate(typeUrl: string, resources: Msg[]): string[] {
    if (resources.length && typeUrl.endsWith('.Listener')) {
      const check = prepareListenersForCheck(
        resources,
        this.prepareOptions,
        this.rewrites,
        this.o.bootstrap.staticResources.listeners,
      );
      const errors = this.dataplane.validate(typeUrl, check.listeners).map(check.userError);
      for (const e of check.errors) errors.push(`${e.path}: ${e.message}`);
      return errors;
    }
    const local = this.o.identity ? istioCertFilesToSds(resources) : resources;
    return this.dataplane.validate(typeUrl, typeUrl.endsWith('.Cluster') ? withEmptyAssignments(local) : local);
  }

  /** What the local rewrite depends on besides the config: fixed for this process. */
  private get prepareOptions(): PrepareOptions {
    return (this.preparedOptions ??= {
      bindings: this.o.bindings ?? {},
      nodeId: this.o.bootstrap.node.id,
      defaultSpanKind: this.o.nodeType === 'router' ? 'CLIENT' : 'SERVER',
      tracing: !!this.tracer,
      defaultAccessLog: this.o.defaultAccessLog,
      certFilesToSds: !!this.o.identity,
    });
  }

  private async apply(snapshot: Snapshot): Promise<void> {
    const clusters = this.o.identity ? istioCertFilesToSds(snapshot.clusters) : snapshot.clusters;
    const prepared = prepareSnapshot(
      { ...snapshot, clusters: withEmptyAssignments(clusters) },
      this.prepareOptions,
      this.rewrites,
    );
    if (prepared.errors.length) {
      throw new Error(prepared.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
    }
    let next = prepared.snapshot;
    // Like Envoy's listener manager: a listener that cannot bind is dropped (and counted), the
    // rest of the config still goes live.
    for (;;) {
      try {
        await this.dataplane.apply(next);
        break;
      } catch (e) {
        const failed = isMeshError(e) && e.code === 'DATAPLANE_ERR_LISTENER_BIND' ? String(e.params['listener']) : '';
        if (!failed || !next.listeners.some((l) => l['name'] === failed)) throw e;
        this.stats.counter('listener_manager.listener_create_failure').inc();
        this.log.error({ listener: failed, err: (e as Error).message }, 'listener cannot bind; applying the rest');
        next = { ...next, listeners: next.listeners.filter((l) => l['name'] !== failed) };
      }
    }
    this.accessLogs.setIndex(prepared.accessLogs);
    for (const l of this.dataplane.listeners()) {
      if (this.addresses[l.name] === l.address || !l.address) continue;
      this.addresses[l.name] = l.address;
      this.log.info({ listener: l.name, address: l.address }, 'listening');
    }
  }

  // ---- AdminBackend ----

  state(): ServerState {
    if (this.draining || this.healthFailed) return 'DRAINING';
    return this.ready ? 'LIVE' : 'INITIALIZING';
  }

  configDump(options: { includeEds: boolean }): { configs: Msg[] } {
    return buildConfigDump({
      bootstrap: this.o.bootstrap.raw,
      staticResources: this.o.bootstrap.staticResources,
      loadedAt: this.startedAt,
      dynamic: this.xds,
      includeEds: options.includeEds,
    });
  }

  clusters(): ClusterView[] {
    const dynamic = new Set(this.xds?.clusterState().active.map((c) => c.name) ?? []);
    return this.dataplane.clusters().map((c) => ({
      name: c.name,
      addedViaApi: dynamic.has(c.name),
      circuitBreakers: c.circuitBreakers,
      hosts: c.hosts.map((h) => ({
        address: h.address,
        health: h.healthFlags,
        weight: h.weight,
        stats: {
          cx_active: h.cxActive,
          cx_connect_fail: h.cxConnectFail,
          cx_total: h.cxTotal,
          rq_active: h.rqActive,
          rq_error: h.rqError,
          rq_success: h.rqSuccess,
          rq_timeout: h.rqTimeout,
          rq_total: h.rqTotal,
        },
      })),
    }));
  }

  listeners(): ListenerView[] {
    return this.dataplane.listeners().map((l) => ({ name: l.name, address: l.address }));
  }

  serverInfo(): Msg {
    const up = Math.floor((this.clock.now() - this.startedAt) / 1000);
    return {
      version: `tsmesh/${TSMESH_VERSION}/Clean/RELEASE/Node.js-${process.version}`,
      state: this.state(),
      hot_restart_version: 'disabled',
      command_line_options: this.o.commandLine ?? {},
      node: this.o.bootstrap.raw['node'] ?? {},
      uptime_current_epoch: `${up}s`,
      uptime_all_epochs: `${up}s`,
    };
  }

  setHealthCheckFailed(failed: boolean): void {
    this.healthFailed = failed;
    this.refreshState();
  }

  /** Envoy's `server.state` (0 LIVE, 1 DRAINING, 2 PRE_INITIALIZING, 3 INITIALIZING) and `server.live`. */
  private refreshState(): void {
    const state = this.state();
    this.stats.gauge('server.state').set(['LIVE', 'DRAINING', 'PRE_INITIALIZING', 'INITIALIZING'].indexOf(state));
    this.stats.gauge('server.live').set(state === 'LIVE' ? 1 : 0);
  }

  async drainListeners(options: { graceful: boolean; inboundOnly: boolean }): Promise<void> {
    void options.inboundOnly;
    await this.dataplane.drain(options.graceful ? (this.o.drainMs ?? 5000) : 0);
  }

  quit(): void {
    this.o.onQuit?.();
  }

  logLevel(): string {
    return this.level;
  }

  setLogLevel(level: string): void {
    this.level = level;
    this.log.level = level;
  }

  isReady(): boolean {
    return this.ready;
  }

  /**
   * Graceful stop: fail readiness, stop accepting, let in-flight requests finish (at most
   * `drainMs`), flush spans and access logs, close everything.
   */
  async stop(drainMs = this.o.drainMs ?? 5000): Promise<void> {
    this.draining = true;
    this.refreshState();
    await this.dataplane.drain(drainMs);
    await this.xds?.stop();
    await this.tracer?.shutdown();
    await this.accessLogs.close();
    // flushes queued Reports, then closes the Mixer connections
    await this.mixer.handle.close();
    await this.tcpMixer.handle.close();
    await Promise.all(this.servers.map((s) => s.close()));
    await this.dataplane.stop();
    this.o.identity?.stop();
  }
}
