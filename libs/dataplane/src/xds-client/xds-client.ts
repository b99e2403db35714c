/**
 * State-of-the-world ADS client, as Envoy runs it (xDS protocol doc):
 * - one stream; the node goes in the first request of each stream;
 * - CDS and LDS are wildcard; EDS names follow the EDS clusters, RDS names
 *   follow the listeners' `rds.route_config_name`s, SDS names follow the TLS contexts'
 *   `sds_config` secrets;
 * - every response is ACKed (`version_info` = its version, `response_nonce`)
 *   or NACKed (`error_detail`, `version_info` = the last accepted version);
 *   a NACKed response changes nothing;
 * - warming: an EDS cluster goes live once its endpoints arrived, a listener
 *   once its route configurations arrived; until then the previous version
 *   (if any) keeps serving; the whole config is applied atomically;
 * - on stream loss the last good config keeps serving and the client
 *   reconnects with full-jitter exponential backoff (Envoy: 500 ms base, 30 s cap),
 *   re-requesting with its last accepted versions (nonces do not survive a stream);
 * - nothing is applied before the first complete config (CDS+EDS, LDS+RDS) has arrived
 *   (Envoy's init manager); from then on the proxy is ready.
 */
import {
  backoffDelay,
  silentLogger,
  systemClock,
  systemRandom,
  type Clock,
  type Logger,
  type Random,
  type TimerHandle,
} from '@tsmesh/core';
import { TYPE_URLS, emptySnapshot, type Snapshot } from '../engine/types';
import { StatsStore } from '../stats/store';
import { edsServiceName, rdsRouteNames, resourceName, sdsSecretNames } from './resource-deps';
import { checkResponse } from './check-response';
import { nextLive, type VersionedResource } from './warming';
import type { AdsStream, AdsTransport, ConfigSink, DiscoveryRequest, DiscoveryResponse, NodeInfo } from './types';
import { xdsStats, type XdsKind, type XdsStats } from './xds-stats';

export const KIND_TYPE_URL: Record<XdsKind, string> = {
  cds: TYPE_URLS.cluster,
  eds: TYPE_URLS.endpoint,
  lds: TYPE_URLS.listener,
  rds: TYPE_URLS.route,
  sds: TYPE_URLS.secret,
};
const KIND_BY_URL = new Map(Object.entries(KIND_TYPE_URL).map(([k, v]) => [v, k as XdsKind]));
/** google.rpc.Code INVALID_ARGUMENT, what Envoy puts in a NACK's error_detail. */
const INVALID_ARGUMENT = 3;

export interface XdsClientOptions {
  node: NodeInfo;
  transport: AdsTransport;
  sink: ConfigSink;
  /** Static resources from the bootstrap; part of every applied snapshot. */
  staticResources?: Snapshot;
  stats?: StatsStore;
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /**
   * Envoy's `initial_fetch_timeout` (default 15 s, 0 = wait forever): once CDS and LDS have
   * arrived, endpoints, routes or secrets still missing after this long no longer hold the first
   * config back (the cluster starts with no hosts, the listener with whatever its routes are).
   */
  initialFetchTimeoutMs?: number;
}

interface Subscription {
  kind: XdsKind;
  wildcard: boolean;
  names: Set<string>;
  ackedVersion: string;
  nonce: string;
  received: boolean;
  resources: Map<string, VersionedResource>;
  /** Set when the last response was NACKed. */
  lastError?: string;
}

export interface SubscriptionStatus {
  typeUrl: string;
  version: string;
  nonce: string;
  names: string[];
  lastError?: string;
}

export class XdsClient {
  readonly stats: XdsStats;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly log: Logger;
  private readonly subs: Record<XdsKind, Subscription>;
  private stream: AdsStream | undefined;
  private streamId = 0;
  private nodeSent = false;
  private attempt = 0;
  private reconnectTimer: TimerHandle | undefined;
  private stopped = false;
  private ready = false;
  private initExpired = false;
  private initTimer: TimerHandle | undefined;
  private readyResolve!: () => void;
  private readonly readyPromise: Promise<void>;
  /** What the sink is running (dynamic part). */
  private active = { clusters: new Map<string, VersionedResource>(), listeners: new Map<string, VersionedResource>() };
  private applying: Promise<void> = Promise.resolve();
  private applyQueued = false;
  private readonly staticNames: Record<'eds' | 'rds' | 'sds', string[]>;

  constructor(private readonly options: XdsClientOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.log = options.logger ?? silentLogger();
    this.stats = xdsStats(options.stats);
    const sub = (kind: XdsKind, wildcard: boolean): Subscription => ({
      kind,
      wildcard,
      names: new Set(),
      ackedVersion: '',
      nonce: '',
      received: false,
      resources: new Map(),
    });
    this.subs = {
      cds: sub('cds', true),
      eds: sub('eds', false),
      lds: sub('lds', true),
      rds: sub('rds', false),
      sds: sub('sds', false),
    };
    // Static bootstrap resources may load their parts over ADS too (an EDS cluster, an RDS
    // listener, SDS certificates); those names are always subscribed.
    const st = options.staticResources ?? emptySnapshot();
    this.staticNames = {
      eds: st.clusters.map((c) => edsServiceName(c)).filter((n): n is string => !!n),
      rds: st.listeners.flatMap((l) => rdsRouteNames(l)),
      sds: [...st.clusters, ...st.listeners].flatMap((r) => sdsSecretNames(r)),
    };
    for (const kind of ['eds', 'rds', 'sds'] as const) this.subs[kind].names = new Set(this.staticNames[kind]);
    this.readyPromise = new Promise((r) => (this.readyResolve = r));
  }

  start(): void {
    const timeout = this.options.initialFetchTimeoutMs ?? 15_000;
    if (timeout > 0) {
      this.initTimer = this.clock.setTimeout(() => {
        if (this.ready) return;
        this.initExpired = true;
        for (const kind of ['eds', 'rds', 'sds'] as const) {
          const sub = this.subs[kind];
          if ([...sub.names].some((n) => !sub.resources.has(n))) this.stats.subscriptions[kind].initFetchTimeout.inc();
        }
        this.log.warn('initial fetch timeout: applying the config without the resources still missing');
        this.scheduleApply();
      }, timeout);
    }
    this.connect();
  }

  /** True once a complete first configuration is live. */
  isReady(): boolean {
    return this.ready;
  }

  whenReady(): Promise<void> {
    return this.readyPromise;
  }

  isConnected(): boolean {
    return this.stats.connectedState.value === 1;
  }

  /** Resolves when every config application started so far has finished. */
  settled(): Promise<void> {
    return this.applying;
  }

  status(): Record<XdsKind, SubscriptionStatus> {
    const out = {} as Record<XdsKind, SubscriptionStatus>;
    for (const s of Object.values(this.subs)) {
      out[s.kind] = {
        typeUrl: KIND_TYPE_URL[s.kind],
        version: s.ackedVersion,
        nonce: s.nonce,
        names: [...s.names].sort(),
        ...(s.lastError ? { lastError: s.lastError } : {}),
      };
    }
    return out;
  }

  /** Accepted dynamic clusters: live ones and those still warming (config_dump). */
  clusterState(): { active: VersionedResource[]; warming: VersionedResource[] } {
    const warming = [...this.subs.cds.resources.values()].filter((r) => this.active.clusters.get(r.name) !== r);
    return { active: [...this.active.clusters.values()], warming };
  }

  listenerState(): { active: VersionedResource[]; warming: VersionedResource[] } {
    const warming = [...this.subs.lds.resources.values()].filter((r) => this.active.listeners.get(r.name) !== r);
    return { active: [...this.active.listeners.values()], warming };
  }

  routeState(): VersionedResource[] {
    return [...this.subs.rds.resources.values()];
  }

  endpointState(): VersionedResource[] {
    return [...this.subs.eds.resources.values()];
  }

  secretState(): VersionedResource[] {
    return [...this.subs.sds.resources.values()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reconnectTimer?.cancel();
    this.initTimer?.cancel();
    this.stream?.close();
    this.stream = undefined;
    this.options.transport.close();
    await this.applying;
  }

  private connect(): void {
    if (this.stopped) return;
    const id = ++this.streamId;
    this.nodeSent = false;
    for (const s of Object.values(this.subs)) s.nonce = '';
    this.stats.streamsOpened.inc();
    this.stream = this.options.transport.open({
      onResponse: (res) => {
        if (id === this.streamId) this.onResponse(res);
      },
      onClose: (reason) => {
        if (id === this.streamId) this.onClose(reason);
      },
    });
    this.request('cds');
    this.request('lds');
    if (this.subs.eds.names.size) this.request('eds');
    if (this.subs.rds.names.size) this.request('rds');
    if (this.subs.sds.names.size) this.request('sds');
  }

  private onClose(reason: string): void {
    this.stream = undefined;
    this.stats.connectedState.set(0);
    if (this.stopped) return;
    this.streamId++;
    const delay = backoffDelay(
      this.random,
      this.attempt++,
      this.options.backoffBaseMs ?? 500,
      this.options.backoffMaxMs ?? 30_000,
    );
    this.log.warn({ reason, retryInMs: Math.round(delay) }, 'xds stream closed; keeping last good config');
    this.reconnectTimer = this.clock.setTimeout(() => this.connect(), delay);
  }

  private request(kind: XdsKind, errorDetail?: string): void {
    const s = this.subs[kind];
    const req: DiscoveryRequest = {
      version_info: s.ackedVersion,
      resource_names: s.wildcard ? [] : [...s.names].sort(),
      type_url: KIND_TYPE_URL[kind],
      response_nonce: s.nonce,
    };
    if (!this.nodeSent) {
      req.node = this.options.node;
      this.nodeSent = true;
    }
    if (errorDetail !== undefined) req.error_detail = { code: INVALID_ARGUMENT, message: errorDetail };
    this.stream?.send(req);
  }

  private onResponse(res: DiscoveryResponse): void {
    this.attempt = 0;
    this.stats.connectedState.set(1);
    const kind = KIND_BY_URL.get(res.type_url);
    if (!kind) {
      this.log.warn({ typeUrl: res.type_url }, 'ignoring xds response of an unsupported type');
      return;
    }
    const s = this.subs[kind];
    const st = this.stats.subscriptions[kind];
    s.nonce = res.nonce;
    st.updateAttempt.inc();
    const errors = checkResponse(res, this.options.sink);
    if (errors.length) {
      s.lastError = errors.join('; ');
      st.updateRejected.inc();
      this.log.warn(
        { typeUrl: res.type_url, version: res.version_info, error: s.lastError },
        'xds update rejected (NACK)',
      );
      this.request(kind, s.lastError);
      return;
    }
    delete s.lastError;
    const now = this.clock.now();
    const incoming = new Map<string, VersionedResource>();
    for (const r of res.resources) {
      const name = resourceName(res.type_url, r);
      incoming.set(name, { name, resource: r, version: res.version_info, lastUpdated: now });
    }
    if (s.wildcard) s.resources = incoming;
    else for (const [name, v] of incoming) if (s.names.has(name)) s.resources.set(name, v);
    s.ackedVersion = res.version_info;
    s.received = true;
    st.updateSuccess.inc();
    this.request(kind);
    if (kind === 'cds')
      this.resubscribe(
        'eds',
        [...s.resources.values()].map((r) => edsServiceName(r.resource)),
      );
    if (kind === 'lds')
      this.resubscribe(
        'rds',
        [...s.resources.values()].flatMap((r) => rdsRouteNames(r.resource)),
      );
    if (kind === 'cds' || kind === 'lds')
      this.resubscribe(
        'sds',
        [...this.subs.cds.resources.values(), ...this.subs.lds.resources.values()].flatMap((r) =>
          sdsSecretNames(r.resource),
        ),
      );
    this.scheduleApply();
  }

  private resubscribe(kind: 'eds' | 'rds' | 'sds', wanted: Array<string | null>): void {
    const s = this.subs[kind];
    const next = new Set([...this.staticNames[kind], ...wanted.filter((n): n is string => !!n)]);
    const same = next.size === s.names.size && [...next].every((n) => s.names.has(n));
    if (same) return;
    s.names = next;
    for (const name of [...s.resources.keys()]) if (!next.has(name)) s.resources.delete(name);
    this.request(kind);
  }

  /** Queues one application of the accepted state; responses arriving meanwhile share it. */
  private scheduleApply(): void {
    if (this.applyQueued) return;
    this.applyQueued = true;
    this.applying = this.applying.then(() => {
      this.applyQueued = false;
      return this.apply();
    });
  }

  /** Builds the next live config from accepted resources, honouring warming, and applies it. */
  private async apply(): Promise<void> {
    const { cds, eds, lds, rds, sds } = this.subs;
    const bothReceived = cds.received && lds.received;
    // After the initial fetch timeout, the first config goes live without what is still missing.
    const force = !this.ready && this.initExpired && bothReceived;
    const staticWarm = (['eds', 'rds', 'sds'] as const).every((k) =>
      this.staticNames[k].every((n) => this.subs[k].resources.has(n)),
    );
    const next = nextLive(
      {
        clusters: cds.resources,
        endpoints: eds.resources,
        listeners: lds.resources,
        routes: rds.resources,
        secrets: sds.resources,
        bothReceived: bothReceived && staticWarm,
      },
      this.active,
      force,
      this.options.staticResources,
    );
    // Like Envoy's init manager: nothing goes live until the first complete config has arrived.
    if (!this.ready && !next.allWarm && !force) return;
    try {
      await this.options.sink.apply(next.snapshot);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'applying accepted xds config failed; keeping the previous one');
      this.stats.subscriptions.lds.updateFailure.inc();
      return;
    }
    this.active = { clusters: next.clusters, listeners: next.listeners };
    if (!this.ready) {
      this.ready = true;
      this.log.info(
        { clusters: next.clusters.size, listeners: next.listeners.size },
        'initial xds config applied; ready',
      );
      this.readyResolve();
    }
  }
}
