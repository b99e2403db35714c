/**
 * The xDS v3 server: ADS (`StreamAggregatedResources`) and the per-type
 * services, state of the world. Per stream and type it tracks subscriptions,
 * sent version/nonce and ACK/NACK; a NACK keeps the proxy on its last version,
 * is recorded and never triggers a re-send. Pushes go CDS → EDS → LDS → RDS
 * (make before break); endpoint-only pushes send EDS alone.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { silentLogger, systemClock, type Clock, type Logger } from '@tsmesh/core';
import {
  adsServiceDefinition,
  cdsServiceDefinition,
  edsServiceDefinition,
  ldsServiceDefinition,
  packAny,
  rdsServiceDefinition,
  sdsServiceDefinition,
} from '@tsmesh/protocol';
import { generate } from '../configgen/generator';
import { TYPE, type Msg } from '../configgen/names';
import type { PluginRegistry } from '../configgen/plugins';
import { parseNode, type XdsNode } from '../model/proxy';
import type { PushContext } from '../model/push-context';
import { XdsConnection, type PendingConvergence, type TypeState } from './connection';
import type { PushRequest } from './debounce';
import type { PilotMetrics } from './metrics';
import { structToJson } from './struct';

/** Push order (make before break). */
export const PUSH_ORDER: readonly string[] = [TYPE.cluster, TYPE.endpoint, TYPE.listener, TYPE.route, TYPE.secret];
const KNOWN_TYPES = new Set<string>(PUSH_ORDER);
const SHORT: Record<string, string> = {
  [TYPE.cluster]: 'cds',
  [TYPE.endpoint]: 'eds',
  [TYPE.listener]: 'lds',
  [TYPE.route]: 'rds',
  [TYPE.secret]: 'sds',
};
export const shortType = (t: string): string => SHORT[t] ?? t;

interface DiscoveryRequest {
  version_info?: string;
  node?: XdsNode | null;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string } | null;
}

type Stream = grpc.ServerDuplexStream<DiscoveryRequest, unknown>;

export interface XdsServerOptions {
  context: () => PushContext;
  plugins?: PluginRegistry;
  metrics: PilotMetrics;
  log?: Logger;
  clock?: Clock;
  domainSuffix?: string;
  maxRequestBytes?: number;
}

/** Events: `connect`/`disconnect` (conn), `ack`/`nack` (conn, typeUrl), `send` (conn, typeUrl, bytes). */
export class XdsServer extends EventEmitter {
  readonly connections = new Map<string, XdsConnection>();
  private readonly streams = new Map<string, Stream>();
  private readonly server: grpc.Server;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly packCache = new WeakMap<object, Packed>();
  private seq = 0;

  constructor(private readonly opts: XdsServerOptions) {
    super();
    this.setMaxListeners(0);
    this.log = opts.log ?? silentLogger();
    this.clock = opts.clock ?? systemClock;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': opts.maxRequestBytes ?? 4 * 1024 * 1024,
      'grpc.max_send_message_length': -1,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    const handler = (call: Stream) => this.handleStream(call);
    const unimplemented = (call: grpc.ServerDuplexStream<unknown, unknown>) =>
      call.emit('error', {
        code: grpc.status.UNIMPLEMENTED,
        details: 'delta xDS is not supported; use state of the world',
      });
    this.server.addService(adsServiceDefinition(), {
      StreamAggregatedResources: handler,
      DeltaAggregatedResources: unimplemented,
    });
    this.server.addService(ldsServiceDefinition(), { StreamListeners: handler });
    this.server.addService(rdsServiceDefinition(), { StreamRoutes: handler });
    this.server.addService(cdsServiceDefinition(), { StreamClusters: handler });
    this.server.addService(edsServiceDefinition(), { StreamEndpoints: handler });
    this.server.addService(sdsServiceDefinition(), { StreamSecrets: handler });
  }

  /** Binds `host:port` (port 0 allowed); returns the bound port. */
  listen(address: string): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
  }

  /** Closes every stream and the server. */
  async close(graceMs = 2000): Promise<void> {
    for (const s of this.streams.values()) s.end();
    // Proxies keep their last config when Pilot goes away; do not wait on them for long.
    await Promise.race([
      new Promise<void>((resolve) => this.server.tryShutdown(() => resolve())),
      new Promise<void>((resolve) => this.clock.setTimeout(resolve, graceMs)),
    ]);
    this.server.forceShutdown();
  }

  private handleStream(call: Stream): void {
    const streamId = `${++this.seq}`;
    let conn: XdsConnection | undefined;
    const cleanup = () => {
      if (!conn || !this.connections.has(conn.id)) return;
      this.connections.delete(conn.id);
      this.streams.delete(conn.id);
      this.opts.metrics.connected.dec();
      this.emit('disconnect', conn);
      this.log.info({ proxy: conn.proxy.id, conn: conn.id }, 'xds stream closed');
    };
    call.on('data', (req: DiscoveryRequest) => {
      try {
        if (!conn) {
          const proxy = parseNode(
            req.node ? { ...req.node, metadata: structToJson(req.node.metadata) } : undefined,
            this.opts.domainSuffix,
          );
          conn = new XdsConnection(
            `${proxy.id}-${streamId}`,
            proxy,
            call.getPeer(),
            new Date(this.clock.now()).toISOString(),
          );
          this.connections.set(conn.id, conn);
          this.streams.set(conn.id, call);
          this.opts.metrics.connected.inc();
          this.emit('connect', conn);
          this.log.info({ proxy: proxy.id, conn: conn.id, generator: proxy.generator }, 'xds stream opened');
        }
        this.onRequest(conn, call, req);
      } catch (e) {
        this.log.warn({ err: (e as Error).message, peer: call.getPeer() }, 'bad DiscoveryRequest, closing stream');
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
        cleanup();
      }
    });
    call.on('end', () => {
      cleanup();
      call.end();
    });
    call.on('error', cleanup);
    call.on('cancelled', cleanup);
    call.on('close', cleanup);
  }

  private onRequest(conn: XdsConnection, call: Stream, req: DiscoveryRequest): void {
    const typeUrl = req.type_url ?? '';
    if (!KNOWN_TYPES.has(typeUrl)) {
      this.log.warn({ proxy: conn.proxy.id, type: typeUrl }, 'unknown type_url ignored');
      return;
    }
    const st = conn.state(typeUrl);
    const nonce = req.response_nonce ?? '';
    const raw = req.resource_names ?? [];
    const names = sameList(raw, st.names) ? st.names : [...raw].sort();
    if (nonce !== '') {
      if (nonce !== st.sentNonce) return; // stale: answers an older response (xDS protocol)
      if (req.error_detail && (req.error_detail.message || req.error_detail.code)) {
        st.nack = {
          version: req.version_info ?? '',
          nonce,
          error: req.error_detail.message ?? `code ${req.error_detail.code}`,
          at: new Date(this.clock.now()).toISOString(),
        };
        this.opts.metrics.rejects.inc({ type: shortType(typeUrl) });
        this.opts.metrics.typeRejects.inc({ type: shortType(typeUrl), node: conn.proxy.id });
        this.log.warn(
          { proxy: conn.proxy.id, type: shortType(typeUrl), error: st.nack.error },
          'ADS: ACK ERROR (NACK)',
        );
        this.settle(conn, typeUrl);
        this.emit('nack', conn, typeUrl);
        return;
      }
      st.ackedVersion = req.version_info ?? '';
      st.ackedNonce = nonce;
      this.settle(conn, typeUrl);
      this.emit('ack', conn, typeUrl);
      if (sameNames(st, names)) return;
    }
    st.names = names;
    st.wildcard =
      names.length === 0 && (typeUrl === TYPE.listener || typeUrl === TYPE.cluster || conn.proxy.generator !== 'grpc');
    this.send(conn, call, typeUrl, undefined, true);
  }

  private settle(conn: XdsConnection, typeUrl: string): void {
    const p = conn.pending;
    if (!p) return;
    p.outstanding.delete(typeUrl);
    if (p.outstanding.size === 0) {
      conn.pending = undefined;
      const ms = this.clock.monotonic() - p.startMs;
      this.opts.metrics.convergence.observe(ms / 1000);
      this.emit('converged', conn, ms);
    }
  }

  /** Encodes once per generated object; generated per-push pieces are shared by proxies, so is their encoding. */
  private pack(typeUrl: string, m: Msg): Packed {
    const hit = this.packCache.get(m);
    if (hit) return hit;
    const wire = packAny(typeUrl, m);
    const packed: Packed = {
      wire,
      name: String(m['name'] ?? m['cluster_name'] ?? ''),
      hash: createHash('sha1').update(wire.value).digest('base64'),
    };
    this.packCache.set(m, packed);
    return packed;
  }

  /** Generates and sends one type; returns false when nothing needed sending. */
  private send(
    conn: XdsConnection,
    call: Stream,
    typeUrl: string,
    push: PushRequest | undefined,
    force: boolean,
  ): boolean {
    const st = conn.state(typeUrl);
    const ctx = this.opts.context();
    let packed: Packed[];
    try {
      const resources = generate(typeUrl, conn.proxy, ctx, st.names, this.opts.plugins) ?? [];
      // Fast path: the very objects sent last time (pieces are reused across pushes) mean nothing changed.
      if (!force && st.sentObjects && sameObjects(st.sentObjects, resources)) return false;
      st.sentObjects = resources;
      packed = resources.map((r) => this.pack(typeUrl, r));
    } catch (e) {
      this.opts.metrics.pushErrors.inc({ type: shortType(typeUrl) });
      this.log.error(
        { proxy: conn.proxy.id, type: shortType(typeUrl), err: (e as Error).message },
        'xds generation failed',
      );
      return false;
    }
    const prev = st.sentResources;
    const sameSet = !!prev && prev.size === packed.length;
    const changed = sameSet ? packed.filter((p) => prev.get(p.name) !== p.hash) : packed;
    if (!force && sameSet && changed.length === 0) return false;
    // RDS and EDS are not "all resources required" in state of the world: a push may carry only what changed.
    const partial = !force && !st.wildcard && (typeUrl === TYPE.route || typeUrl === TYPE.endpoint) && sameSet;
    const toSend = partial ? changed : packed;
    if (sameSet) for (const p of changed) prev.set(p.name, p.hash);
    else st.sentResources = new Map(packed.map((p) => [p.name, p.hash]));
    if (toSend.length === 0) return false;
    const wire = toSend.map((p) => p.wire);
    const nonce = conn.nextNonce();
    st.sentVersion = ctx.version;
    st.sentNonce = nonce;
    st.sentCount = packed.length;
    let bytes = 0;
    for (const w of wire) bytes += w.value.length;
    call.write({
      version_info: ctx.version,
      resources: wire,
      type_url: typeUrl,
      nonce,
      control_plane: { identifier: 'tsmesh-pilot' },
    });
    this.opts.metrics.pushes.inc({ type: shortType(typeUrl) });
    this.opts.metrics.pushBytes.inc({ type: shortType(typeUrl) }, bytes);
    if (push) {
      conn.pending ??= { startMs: push.startMs, outstanding: new Set() };
      conn.pending.outstanding.add(typeUrl);
    }
    this.emit('send', conn, typeUrl, bytes);
    return true;
  }

  /** Pushes the current context to every connected proxy (full, or EDS only). */
  push(req: PushRequest): void {
    for (const conn of this.connections.values()) {
      const call = this.streams.get(conn.id);
      if (!call) continue;
      conn.pending = undefined;
      for (const typeUrl of PUSH_ORDER) {
        if (!conn.types.has(typeUrl)) continue;
        if (!req.full && typeUrl !== TYPE.endpoint) continue;
        this.send(conn, call, typeUrl, req, false);
      }
      const pending = conn.pending as PendingConvergence | undefined;
      if (pending && pending.outstanding.size === 0) conn.pending = undefined;
      if (!pending) this.emit('converged', conn, 0);
    }
  }
}

function sameObjects(a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameNames(st: TypeState, names: string[]): boolean {
  if (st.names.length !== names.length) return false;
  for (let i = 0; i < names.length; i++) if (st.names[i] !== names[i]) return false;
  return true;
}

interface Packed {
  wire: { type_url: string; value: Buffer };
  name: string;
  hash: string;
}
