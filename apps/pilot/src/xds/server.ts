/**
 * The xDS v3 server: ADS (`StreamAggregatedResources`) and the per-type
 * services, state of the world. Per stream and type it tracks subscriptions,
 * sent version/nonce and ACK/NACK; a NACK keeps the proxy on its last version,
 * is recorded and never triggers a re-send. Pushes go CDS → EDS → LDS → RDS
 * (make before break); endpoint-only pushes send EDS alone.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { silentLogger, systemClock, type Clock, type Logger } from '@tsmesh/core';
import {
  adsServiceDefinition,
  cdsServiceDefinition,
  edsServiceDefinition,
  ldsServiceDefinition,
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
import { passThroughResponses, WireEncoder, type Packed } from './encode';
import type { PilotMetrics } from './metrics';
import { structToJson } from './struct';

/** Push order (make before break). */
export const PUSH_ORDER: readonly string[] = [TYPE.cluster, TYPE.endpoint, TYPE.listener, TYPE.route, TYPE.secret];
const KNOWN_TYPES = new Set<string>(PUSH_ORDER);
/** Proxies pushed before the event loop gets a turn. */
const PUSH_SLICE = 10;
const CONTROL_PLANE = 'tsmesh-pilot';
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
  private readonly encoder = new WireEncoder(CONTROL_PLANE);
  private readonly packedLists = new WeakMap<readonly Msg[], Packed[]>();
  /** Subscription lists shared by streams that asked for the same names (bounded; only an optimisation). */
  private readonly internedNames = new Map<string, string[]>();
  /** Per-push memo of EDS results by (interned) subscription list: explicit-name EDS does not depend on the proxy. */
  private edsMemo?: { ctx: PushContext; byNames: WeakMap<readonly string[], Msg[]> };
  /** Proxies still to push in the current push, with what they are owed (merged when pushes overlap). */
  private readonly queue = new Map<XdsConnection, PushRequest>();
  private draining = false;
  /** Resolved when the queue is empty (every proxy of the pushes so far has been written to). */
  private readonly drained: (() => void)[] = [];
  private closed = false;
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
    // Responses are written as pre-encoded DiscoveryResponse bytes (see encode.ts).
    this.server.addService(passThroughResponses(adsServiceDefinition()), {
      StreamAggregatedResources: handler,
      DeltaAggregatedResources: unimplemented,
    });
    this.server.addService(passThroughResponses(ldsServiceDefinition()), { StreamListeners: handler });
    this.server.addService(passThroughResponses(rdsServiceDefinition()), { StreamRoutes: handler });
    this.server.addService(passThroughResponses(cdsServiceDefinition()), { StreamClusters: handler });
    this.server.addService(passThroughResponses(edsServiceDefinition()), { StreamEndpoints: handler });
    this.server.addService(passThroughResponses(sdsServiceDefinition()), { StreamSecrets: handler });
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
    this.closed = true;
    this.queue.clear();
    for (const resolve of this.drained.splice(0)) resolve();
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
      this.queue.delete(conn);
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
    const names = sameList(raw, st.names) ? st.names : this.intern([...raw].sort());
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

  private intern(names: string[]): string[] {
    if (names.length === 0) return names;
    const key = names.join('\n');
    const hit = this.internedNames.get(key);
    if (hit) return hit;
    if (this.internedNames.size >= 1024) this.internedNames.clear();
    this.internedNames.set(key, names);
    return names;
  }

  private generate(typeUrl: string, conn: XdsConnection, st: TypeState, ctx: PushContext): readonly Msg[] {
    if (typeUrl !== TYPE.endpoint || st.names.length === 0) {
      return generate(typeUrl, conn.proxy, ctx, st.names, this.opts.plugins) ?? [];
    }
    if (this.edsMemo?.ctx !== ctx) this.edsMemo = { ctx, byNames: new WeakMap() };
    let out = this.edsMemo.byNames.get(st.names);
    if (!out) {
      out = generate(typeUrl, conn.proxy, ctx, st.names, this.opts.plugins) ?? [];
      this.edsMemo.byNames.set(st.names, out);
    }
    return out;
  }

  /** Packs a generated list; lists shared by proxies (and their encodings) are packed once. */
  private packAll(typeUrl: string, resources: readonly Msg[]): Packed[] {
    let packed = this.packedLists.get(resources);
    if (!packed) {
      packed = resources.map((r) => this.encoder.pack(typeUrl, r));
      this.packedLists.set(resources, packed);
    }
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
      const resources = this.generate(typeUrl, conn, st, ctx);
      // Fast path: the very objects sent last time (pieces are reused across pushes) mean nothing changed.
      if (!force && st.sentObjects && sameObjects(st.sentObjects, resources)) return false;
      st.sentObjects = resources;
      packed = this.packAll(typeUrl, resources);
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
    const res = this.encoder.response(ctx.version, typeUrl, toSend, st.sentNonce);
    st.sentVersion = ctx.version;
    st.sentNonce = res.nonce;
    st.sentCount = packed.length;
    let bytes = 0;
    for (const p of toSend) bytes += p.wire.value.length;
    call.write(res.bytes);
    this.opts.metrics.pushes.inc({ type: shortType(typeUrl) });
    this.opts.metrics.pushBytes.inc({ type: shortType(typeUrl) }, bytes);
    if (push) {
      conn.pending ??= { startMs: push.startMs, outstanding: new Set() };
      conn.pending.outstanding.add(typeUrl);
    }
    this.emit('send', conn, typeUrl, bytes);
    return true;
  }

  /**
   * Pushes the current context to every connected proxy (full, or EDS only).
   * The first proxies are pushed at once; the rest follow in slices between
   * which the event loop runs, so responses already written go out (and
   * their ACKs come back) while later proxies are still being generated.
   * A push that arrives while one is under way merges into what each
   * waiting proxy is owed.
   */
  push(req: PushRequest): Promise<void> {
    for (const conn of this.connections.values()) {
      const owed = this.queue.get(conn);
      this.queue.set(conn, owed ? mergePush(owed, req) : req);
    }
    const done = new Promise<void>((resolve) => this.drained.push(resolve));
    if (!this.draining) this.drain();
    return done;
  }

  private drain(): void {
    let n = 0;
    for (const [conn, req] of this.queue) {
      if (n++ === PUSH_SLICE && !this.closed) {
        this.draining = true;
        setImmediate(() => {
          this.draining = false;
          this.drain();
        });
        return;
      }
      this.queue.delete(conn);
      if (!this.closed) this.pushOne(conn, req);
    }
    for (const resolve of this.drained.splice(0)) resolve();
  }

  private pushOne(conn: XdsConnection, req: PushRequest): void {
    const call = this.streams.get(conn.id);
    if (!call) return;
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

function mergePush(a: PushRequest, b: PushRequest): PushRequest {
  return {
    full: a.full || b.full,
    startMs: Math.min(a.startMs, b.startMs),
    count: a.count + b.count,
    reasons: new Set([...a.reasons, ...b.reasons]),
  };
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
