/**
 * The data-plane engine. `apply(snapshot)` validates and builds everything first (route tables,
 * matchers, filter factories, clusters), then swaps atomically: new requests use the new config,
 * established connections keep working, removed listeners drain. A snapshot with any error is
 * rejected as a whole (the caller NACKs with the joined messages) and the last good config stays.
 */
import {
  silentLogger,
  systemClock,
  systemRandom,
  type Clock,
  type FieldError,
  type Logger,
  type Random,
} from '@tsmesh/core';
import { FilterRegistry } from '../filters/types';
import { compileRouteConfiguration, type CompiledRouteConfig } from '../http/route-table';
import { perFilterParser } from '../http/connection-manager';
import type { HcmRuntime } from '../http/runtime';
import type { StreamCompleteHook } from '../http/stream-info';
import { ListenerRuntime } from '../listeners/listener';
import { StatsStore } from '../stats/store';
import type { CertificateProvider } from '../tls/certificate-provider';
import { readDataSource, resolveCommonTls, upstreamTlsOptions, type SecretLookup } from '../tls/context';
import {
  Cluster,
  parseCluster,
  parseLoadAssignment,
  type ClusterDeps,
  type ClusterSettings,
} from '../upstream/cluster';
import { buildListener, type BuiltListener } from './build-listener';
import { dataplaneErrors } from './errors';
import { emptySnapshot, TYPE_URLS, type Msg, type Snapshot } from './types';
import { clusterStatus, type ClusterStatus, type ListenerStatus } from './status';

export interface DataplaneOptions {
  nodeId: string;
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  stats?: StatsStore;
  /** TLS material by SDS name beyond the snapshot's Secret resources (rotating workload certs). */
  tls?: { provider?: CertificateProvider };
  /** HTTP filter registry; call `registerBuiltinFilters(registry)` on it. Defaults to an empty one. */
  filters?: FilterRegistry;
  /**
   * Envoy's `--drain-time-s`: how long connections of a removed listener, or of a filter chain a
   * push replaced, drain before they are closed (ms, default 5000).
   */
  drainMs?: number;
}

/**
 * Which Secret resources a built listener's TLS names resolve against: those of the snapshot it
 * is applied with until the swap, then the applied ones (so an SDS push reaches kept chains).
 */
interface SecretBinding {
  committed: boolean;
  secrets: Map<string, Msg>;
}

/** A listener resource built (once) and what it was built against. */
interface PreparedListener {
  m: Msg;
  b: BuiltListener;
  /**
   * The staged stats view its connection managers and filters created their stats through: adopted
   * at the swap, discarded when the snapshot is refused. Undefined for a listener already live.
   */
  stats?: StatsStore;
  secrets: SecretBinding;
}

/**
 * A snapshot checked and compiled in one pass: the errors that refuse it whole, or what the swap
 * installs (parsed clusters, compiled route tables and built listeners, by resource).
 */
interface Prepared {
  snapshot: Snapshot;
  errors: string[];
  secrets: Map<string, Msg>;
  clusters: Map<Msg, ClusterSettings>;
  routes: Map<Msg, CompiledRouteConfig>;
  listeners: PreparedListener[];
  /** Set at the swap: from then on TLS names of its new clusters resolve against the applied secrets. */
  committed: boolean;
}

interface ActiveListener {
  runtime: ListenerRuntime;
  config: Msg;
  key: string;
  built: BuiltListener;
  secrets: SecretBinding;
}

const KIND_BY_TYPE: Record<string, keyof Snapshot> = {
  [TYPE_URLS.listener]: 'listeners',
  [TYPE_URLS.route]: 'routes',
  [TYPE_URLS.cluster]: 'clusters',
  [TYPE_URLS.endpoint]: 'endpoints',
  [TYPE_URLS.secret]: 'secrets',
};

export class Dataplane {
  readonly stats: StatsStore;
  readonly filters: FilterRegistry;
  readonly nodeId: string;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly provider?: CertificateProvider;
  private readonly drainMs: number;
  private readonly hooks: StreamCompleteHook[] = [];
  private clusterMap = new Map<string, Cluster>();
  private routeMap = new Map<string, CompiledRouteConfig>();
  private readonly listenerMap = new Map<string, ActiveListener>();
  private snapshot: Snapshot = emptySnapshot();
  private secretMap = new Map<string, Msg>();
  private lastUpdated = new Date(0);
  private version = '';
  private stopped = false;
  private applying: Promise<unknown> = Promise.resolve();
  private readonly runtime: HcmRuntime;

  constructor(opts: DataplaneOptions) {
    this.nodeId = opts.nodeId;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? systemRandom;
    this.logger = opts.logger ?? silentLogger();
    this.stats = opts.stats ?? new StatsStore();
    this.filters = opts.filters ?? new FilterRegistry();
    this.provider = opts.tls?.provider;
    this.drainMs = opts.drainMs ?? 5000;
    this.runtime = {
      clock: this.clock,
      random: this.random,
      logger: this.logger,
      stats: this.stats,
      nodeId: this.nodeId,
      cluster: (name) => this.clusterMap.get(name),
      routeConfig: (name) => this.routeMap.get(name),
      streamHooks: this.hooks,
    };
  }

  /** Registers an access-log / tracing / telemetry hook called once per finished stream. */
  onStreamComplete(hook: StreamCompleteHook): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  /** Secret resource → its material, read once per resource object (files are read on first use). */
  private readonly secretMaterial = new WeakMap<
    Msg,
    { cert?: { certChain: string; privateKey: string }; ca?: string }
  >();

  private secretLookup(secrets: Map<string, Msg>): SecretLookup {
    return (name) => {
      const s = secrets.get(name);
      if (!s) return undefined;
      const hit = this.secretMaterial.get(s);
      if (hit) return hit;
      const errs: FieldError[] = [];
      const tc = s['tls_certificate'] as Msg | undefined;
      const cert = tc
        ? {
            certChain: readDataSource(tc['certificate_chain'], 'tls_certificate.certificate_chain', errs) ?? '',
            privateKey: readDataSource(tc['private_key'], 'tls_certificate.private_key', errs) ?? '',
          }
        : undefined;
      const ca = readDataSource(s['validation_context']?.['trusted_ca'], 'validation_context.trusted_ca', errs);
      const material = { cert, ca };
      this.secretMaterial.set(s, material);
      return material;
    };
  }

  /**
   * `secrets` gives the Secret resources TLS names resolve against when a connection is made. A
   * cluster's resolver reads the applied snapshot's (`() => this.secretMap`) so a cluster kept
   * across pushes (unchanged resource) still sees a Secret resource that changed (SDS rotation
   * without a CDS update).
   */
  private clusterDeps(secrets: () => Map<string, Msg>, stats: StatsStore): ClusterDeps {
    return {
      clock: this.clock,
      random: this.random,
      stats,
      logger: this.logger,
      upstreamTls: (ctx, path, errors) => {
        const r = resolveCommonTls(ctx, path, errors, (name) => this.secretLookup(secrets())(name), this.provider);
        const opts = upstreamTlsOptions(r);
        try {
          opts.current(); // invalid PEM material is a config error, not a failure at connect time
        } catch (e) {
          errors.push({ path: `${path}.common_tls_context`, message: `invalid TLS material: ${(e as Error).message}` });
        }
        return opts;
      },
    };
  }

  /**
   * Field-addressed errors for a batch of resources of one type (empty = valid): the xDS client's
   * ACK/NACK check. What is compiled here is kept (by resource object) for the application that
   * follows, so an accepted RDS or LDS update is compiled once: route tables, and listeners with
   * the stats they created staged (listed only once the listener is applied; a refused batch's, or
   * an accepted batch's that a newer LDS update replaced before it was applied, are dropped).
   */
  validate(typeUrl: string, resources: readonly Msg[]): string[] {
    const kind = KIND_BY_TYPE[typeUrl];
    if (!kind) return [`unsupported resource type ${typeUrl}`];
    const snap = { ...this.snapshot, [kind]: resources } as Snapshot;
    const prepared = this.prepare(snap, kind);
    if (prepared.errors.length) {
      this.discardListeners(prepared.listeners);
      return prepared.errors;
    }
    for (const [m, compiled] of prepared.routes) this.compiledRoutes.set(m, compiled);
    if (kind === 'listeners') {
      // State of the world: this update replaces the previous one, applied or not.
      this.discardListeners([...this.validatedListeners.values()]);
      this.validatedListeners.clear();
      for (const l of prepared.listeners) this.validatedListeners.set(l.m, l);
    }
    return [];
  }

  /**
   * Listener resource → its build, for the resources of the last accepted LDS update (`validate`)
   * not applied yet. `prepare` takes a listener from here instead of building it again.
   */
  private readonly validatedListeners = new Map<Msg, PreparedListener>();

  private discardListeners(listeners: readonly PreparedListener[]): void {
    for (const l of listeners) l.stats?.discard();
  }

  /**
   * RouteConfiguration resource → its compilation, for a resource that passed `validate` or was
   * applied: the same resource object is not compiled again (the xDS client hands the engine the
   * objects it validated). Compiling depends on the resource and the filter registry only.
   */
  private readonly compiledRoutes = new WeakMap<Msg, CompiledRouteConfig>();

  /**
   * Checks and compiles `snap` (only its `only` resources when given) in one pass: every error,
   * field-addressed, and what the swap installs. A listener resource already built (validated, or
   * live) is taken as built; a new one is built against the live runtime with its own staged stats
   * view, so nothing it creates is listed before the swap.
   */
  private prepare(snap: Snapshot, only?: keyof Snapshot): Prepared {
    const errors: string[] = [];
    const secrets = new Map(snap.secrets.map((s) => [String(s['name'] ?? ''), s]));
    const prepared: Prepared = {
      snapshot: snap,
      errors,
      secrets,
      clusters: new Map(),
      routes: new Map(),
      listeners: [],
      committed: false,
    };
    const each = (
      kind: keyof Snapshot,
      label: string,
      nameOf: (m: Msg) => string,
      fn: (m: Msg, errors: FieldError[]) => void,
    ) => {
      if (only && only !== kind) return;
      const seen = new Set<string>();
      snap[kind].forEach((m, i) => {
        const fieldErrors: FieldError[] = [];
        const name = nameOf(m);
        if (seen.has(name)) fieldErrors.push({ path: 'name', message: `duplicate ${label} name` });
        seen.add(name);
        try {
          fn(m, fieldErrors);
        } catch (e) {
          fieldErrors.push({ path: '', message: (e as Error).message });
        }
        for (const e of fieldErrors)
          errors.push(`${label} "${name || `#${i}`}": ${e.path ? `${e.path}: ` : ''}${e.message}`);
      });
    };
    const nameOf = (m: Msg) => String(m['name'] ?? '');
    each('secrets', 'secret', nameOf, (m, fieldErrors) => {
      if (!m['name']) fieldErrors.push({ path: 'name', message: 'secret name is required' });
    });
    // Until the swap, a cluster's TLS names resolve against this snapshot's secrets; from then on
    // against the applied ones.
    const { upstreamTls } = this.clusterDeps(() => (prepared.committed ? this.secretMap : secrets), this.stats);
    each('clusters', 'cluster', nameOf, (m, fieldErrors) => {
      prepared.clusters.set(m, parseCluster(m, fieldErrors, { upstreamTls }));
    });
    each(
      'endpoints',
      'cluster load assignment',
      (m) => String(m['cluster_name'] ?? ''),
      (m, fieldErrors) => {
        if (!m['cluster_name']) fieldErrors.push({ path: 'cluster_name', message: 'cluster_name is required' });
        parseLoadAssignment(m, '', fieldErrors);
      },
    );
    each('routes', 'route configuration', nameOf, (m, fieldErrors) => {
      if (!m['name']) fieldErrors.push({ path: 'name', message: 'route configuration name is required' });
      prepared.routes.set(
        m,
        this.compiledRoutes.get(m) ?? compileRouteConfiguration(m, fieldErrors, perFilterParser(this.filters)),
      );
    });
    const validating = only !== undefined;
    each('listeners', 'listener', nameOf, (m, fieldErrors) => {
      const validated = validating ? undefined : this.validatedListeners.get(m);
      if (validated) {
        this.validatedListeners.delete(m);
        validated.secrets.secrets = secrets;
        prepared.listeners.push(validated);
        return;
      }
      const live = validating ? undefined : this.listenerMap.get(nameOf(m));
      if (live?.config === m) {
        prepared.listeners.push({ m, b: live.built, secrets: live.secrets });
        return;
      }
      const stats = this.stats.staged();
      const binding: SecretBinding = { committed: false, secrets };
      const ctx = {
        runtime: { ...this.runtime, stats },
        registry: this.filters,
        secrets: (name: string) => this.secretLookup(binding.committed ? this.secretMap : binding.secrets)(name),
        provider: this.provider,
      };
      prepared.listeners.push({ m, b: buildListener(m, ctx, fieldErrors), stats, secrets: binding });
    });
    return prepared;
  }

  /**
   * Applies a complete snapshot atomically. Throws DATAPLANE_ERR_INVALID_CONFIG (with every field
   * error) or DATAPLANE_ERR_LISTENER_BIND; in both cases nothing changed.
   */
  apply(snapshot: Snapshot, opts: { version?: string } = {}): Promise<void> {
    // Pushes are applied one at a time, in call order (binding listeners is asynchronous).
    const run = this.applying.then(() => this.applyNow(snapshot, opts));
    this.applying = run.catch(() => undefined);
    return run;
  }

  private async applyNow(snapshot: Snapshot, opts: { version?: string }): Promise<void> {
    if (this.stopped) throw dataplaneErrors.error('DATAPLANE_ERR_STOPPED');
    // Built against the live runtime, as what serves if the snapshot is accepted; the stats its new
    // listeners created are staged, and dropped with it if it is refused.
    const prepared = this.prepare(snapshot);
    if (prepared.errors.length) {
      this.discardListeners(prepared.listeners);
      throw dataplaneErrors.error(
        'DATAPLANE_ERR_INVALID_CONFIG',
        { kind: 'data-plane' },
        prepared.errors.map((p) => ({ path: '', message: p })),
      );
    }
    await this.commit(prepared);
    this.version = opts.version ?? this.version;
  }

  /** Binds the new listeners of an error-free prepared snapshot, then swaps it in. */
  private async commit(prepared: Prepared): Promise<void> {
    const { snapshot, secrets } = prepared;
    // New clusters' stats are staged too: a snapshot refused at bind time leaves none behind.
    const clusterStats = this.stats.staged();
    const deps = this.clusterDeps(() => this.secretMap, clusterStats);
    // 1. Clusters: keep unchanged ones (pools, outlier state), start the new ones.
    const clusters = new Map<string, Cluster>();
    const created: Cluster[] = [];
    for (const [m, settings] of prepared.clusters) {
      const name = String(m['name']);
      const prev = this.clusterMap.get(name);
      if (prev && JSON.stringify(prev.config) === JSON.stringify(m)) clusters.set(name, prev);
      else {
        const c = new Cluster(settings, m, deps);
        clusters.set(name, c);
        created.push(c);
      }
    }
    const claByName = new Map(snapshot.endpoints.map((e) => [String(e['cluster_name']), e]));
    for (const c of clusters.values())
      if (c.settings.type === 'EDS') c.setEndpoints(claByName.get(c.settings.edsServiceName));
    // 2. Route tables, as compiled by `prepare`.
    const routes = new Map<string, CompiledRouteConfig>();
    for (const [m, compiled] of prepared.routes) {
      routes.set(String(m['name']), compiled);
      this.compiledRoutes.set(m, compiled);
    }
    // 3. Listeners: bind the new ones before anything is swapped.
    const built = prepared.listeners;
    const fresh: { b: BuiltListener; runtime: ListenerRuntime }[] = [];
    try {
      for (const { b } of built) {
        const prev = this.listenerMap.get(b.name);
        if (prev && prev.key === `${b.host}:${b.port}`) continue;
        const runtime = new ListenerRuntime(
          b.name,
          b.host,
          b.port,
          b.chains,
          this.logger,
          this.stats,
          b.limits,
          this.clock,
        );
        try {
          await runtime.listen();
        } catch (e) {
          throw dataplaneErrors.error('DATAPLANE_ERR_LISTENER_BIND', {
            listener: b.name,
            address: `${b.host}:${b.port}`,
            reason: (e as Error).message,
          });
        }
        fresh.push({ b, runtime });
      }
    } catch (e) {
      for (const f of fresh) f.runtime.close();
      for (const c of created) c.stop();
      clusterStats.discard();
      this.discardListeners(built);
      throw e;
    }
    // 4. Swap.
    prepared.committed = true;
    clusterStats.adopt();
    for (const l of built) {
      l.stats?.adopt();
      l.secrets.committed = true;
    }
    const oldClusters = this.clusterMap;
    this.clusterMap = clusters;
    this.routeMap = routes;
    this.secretMap = secrets;
    const keep = new Set(built.map(({ b }) => b.name));
    for (const { m, b, secrets: binding } of built) {
      const prev = this.listenerMap.get(b.name);
      const nf = fresh.find((f) => f.b.name === b.name);
      if (nf) {
        if (prev) void prev.runtime.drain(this.drainMs);
        this.listenerMap.set(b.name, {
          runtime: nf.runtime,
          config: m,
          key: `${b.host}:${b.port}`,
          built: b,
          secrets: binding,
        });
        const a = nf.runtime.address();
        this.logger.info({ listener: b.name, address: a ? `${a.address}:${a.port}` : '' }, 'listener bound');
      } else if (prev) {
        const { changed, draining } = prev.runtime.update(b.chains, this.drainMs);
        if (changed) {
          // Envoy's listener manager counters for a filter-chain update of a kept listener.
          this.stats.counter('listener_manager.listener_modified').inc();
          this.stats.counter('listener_manager.listener_in_place_updated').inc();
          this.logger.info({ listener: b.name, draining }, 'listener updated in place: old connections drain');
        }
        prev.config = m;
        prev.built = b;
        prev.secrets = binding;
      }
    }
    for (const [name, l] of this.listenerMap) {
      if (!keep.has(name)) {
        this.listenerMap.delete(name);
        void l.runtime.drain(this.drainMs);
      }
    }
    for (const [name, c] of oldClusters) {
      if (clusters.get(name) !== c) {
        // Let in-flight requests on the old cluster finish before its pools close.
        this.clock.setTimeout(() => c.stop(), this.drainMs);
        if (!clusters.has(name)) this.stats.removePrefix(`cluster.${name}.`);
      }
    }
    this.snapshot = snapshot;
    this.lastUpdated = new Date(this.clock.now());
  }

  /** Bound address of a listener (`host:port`), once applied. */
  address(listenerName: string): string | undefined {
    const a = this.listenerMap.get(listenerName)?.runtime.address();
    return a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : undefined;
  }

  listeners(): ListenerStatus[] {
    return [...this.listenerMap.entries()].map(([name, l]) => ({
      name,
      address: this.address(name) ?? '',
      connections: l.runtime.connectionCount(),
      draining: l.runtime.draining,
    }));
  }

  clusters(): ClusterStatus[] {
    return [...this.clusterMap.values()].map(clusterStatus);
  }

  /** Runtime cluster by name (filters such as the Mixer client call out through it). */
  cluster(name: string): Cluster | undefined {
    return this.clusterMap.get(name);
  }

  /** The applied resources in Envoy's admin ConfigDump shape (private keys redacted). */
  configDump(): Msg {
    const ts = this.lastUpdated.toISOString();
    const v = this.version;
    const redact = (s: Msg): Msg => {
      const copy = JSON.parse(JSON.stringify(s)) as Msg;
      if (copy['tls_certificate']?.['private_key'])
        copy['tls_certificate']['private_key'] = { inline_string: '[redacted]' };
      return copy;
    };
    return {
      configs: [
        {
          '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
          version_info: v,
          dynamic_active_clusters: this.snapshot.clusters.map((c) => ({
            version_info: v,
            cluster: { '@type': TYPE_URLS.cluster, ...c },
            last_updated: ts,
          })),
        },
        {
          '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
          version_info: v,
          dynamic_listeners: this.snapshot.listeners.map((l) => ({
            name: l['name'],
            active_state: { version_info: v, listener: { '@type': TYPE_URLS.listener, ...l }, last_updated: ts },
          })),
        },
        {
          '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
          dynamic_route_configs: this.snapshot.routes.map((r) => ({
            version_info: v,
            route_config: { '@type': TYPE_URLS.route, ...r },
            last_updated: ts,
          })),
        },
        {
          '@type': 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump',
          dynamic_endpoint_configs: this.snapshot.endpoints.map((e) => ({
            version_info: v,
            endpoint_config: { '@type': TYPE_URLS.endpoint, ...e },
            last_updated: ts,
          })),
        },
        {
          '@type': 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump',
          dynamic_active_secrets: this.snapshot.secrets.map((s) => ({
            name: s['name'],
            version_info: v,
            last_updated: ts,
            secret: { '@type': TYPE_URLS.secret, ...redact(s) },
          })),
        },
      ],
    };
  }

  /** The applied snapshot (as given). */
  current(): Snapshot {
    return this.snapshot;
  }

  /** Graceful drain of every listener: stop accepting, finish in-flight requests, then close. */
  async drain(ms: number): Promise<void> {
    await Promise.all([...this.listenerMap.values()].map((l) => l.runtime.drain(ms)));
  }

  /** Closes listeners and upstream pools now. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.discardListeners([...this.validatedListeners.values()]);
    this.validatedListeners.clear();
    for (const l of this.listenerMap.values()) l.runtime.close();
    this.listenerMap.clear();
    for (const c of this.clusterMap.values()) c.stop();
    this.clusterMap.clear();
    void this.secretMap;
  }
}
