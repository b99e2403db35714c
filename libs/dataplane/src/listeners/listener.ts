/**
 * A bound listener (envoy.config.listener.v3.Listener). One `net.Server` per address; each new
 * connection takes the filter chains in force at accept time, and a push that replaces a chain
 * drains the connections accepted under it (Envoy's drain on LDS update), is optionally TLS-terminated
 * (DownstreamTlsContext, ALPN h2/http/1.1), and is handed to HTTP/1.1, HTTP/2 (prior-knowledge
 * h2c is detected from the connection preface) or the TCP proxy.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { systemClock, type Clock, type Logger, type TimerHandle } from '@tsmesh/core';
import type { DownstreamConnection } from '../filters/types';
import type { ConnectionManager, DownstreamRequest, DownstreamResponse } from '../http/connection-manager';
import { Http1ServerConnection } from '../http1/server-connection';
import type { ResolvedTls } from '../tls/context';
import { uriSans } from '../tls/context';
import { checkPeer, HandshakeStats } from '../tls/identity/handshake';
import type { StatsStore } from '../stats/store';
import { selectChain, needsInspection, type ChainMatch, type ConnectionFacts } from './chain-match';
import { looksLikeTls } from './client-hello';
import { peekConnection } from './peek';
import {
  applyBufferLimit,
  closeWhenIdle,
  DEFAULT_BUFFER_LIMIT_BYTES,
  guardRapidReset,
  replayStream,
  secureContextFor,
} from './socket-helpers';
import type { TcpProxy } from './tcp-proxy';

export interface FilterChainRuntime {
  readonly name: string;
  /**
   * Identity of the chain's configuration (listener-level settings + the FilterChain resource).
   * An update that no longer has a chain with this key drains that chain's connections.
   */
  readonly key?: string;
  /** `filter_chain_match`, parsed once per push. */
  readonly match: ChainMatch;
  readonly tls: ResolvedTls | null;
  readonly hcm?: ConnectionManager;
  readonly tcp?: TcpProxy;
}

export interface ListenerChains {
  readonly chains: readonly FilterChainRuntime[];
  readonly defaultChain?: FilterChainRuntime;
  /** `listener_filters` has `envoy.filters.listener.tls_inspector`: always read SNI/ALPN. */
  readonly tlsInspector?: boolean;
  /** `listener_filters_timeout` in ms (Envoy's default 15 s; 0 = none) for reading the ClientHello. */
  readonly filtersTimeoutMs?: number;
  /** `continue_on_listener_filters_timeout`: on timeout pick a chain with what was read, do not close. */
  readonly continueOnFiltersTimeout?: boolean;
  /**
   * `per_connection_buffer_limit_bytes` (unset: Envoy's 1 MiB for the HTTP request buffer, node's
   * socket thresholds; 0 = no limit): each connection's soft read/write threshold, and the HCM's
   * per-stream buffer limit (retry/mirror body buffer) for the requests it carries.
   */
  readonly bufferLimitBytes?: number;
}

interface ConnState {
  chain: FilterChainRuntime;
  conn: DownstreamConnection;
  /** The kernel socket under it (differs from the HTTP socket for TLS). */
  raw: net.Socket;
  /** Pending until the first request's headers are complete (slowloris guard). */
  headersTimer?: TimerHandle;
  /** HTTP/1 (not a tunnel): its socket and responses in flight (idle when none). */
  /** HTTP/1 responses in flight (an array: a Set shrinks and regrows its table every request). */
  h1?: { socket: net.Socket; open: H1Response[] };
  session?: http2.ServerHttp2Session;
  /** Set once the connection drains (listener drain, or its filter chain was replaced by a push). */
  draining: boolean;
  drainTimer?: TimerHandle;
}

/** What drains need of an HTTP/1 response in flight (node's `ServerResponse` or the raw codec's). */
interface H1Response {
  readonly headersSent: boolean;
  shouldKeepAlive: boolean;
  on(event: 'close', fn: () => void): unknown;
}

/**
 * `TSMESH_HTTP1_CODEC=node` serves downstream HTTP/1.1 with node's `http.Server` for every
 * request; the default is the raw codec (http1/), which hands Upgrade and CONNECT to it.
 */
function useNodeCodec(): boolean {
  return process.env['TSMESH_HTTP1_CODEC'] === 'node';
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export class ListenerRuntime {
  private readonly server: net.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /**
   * Dispatched connections with their chain and HTTP/1 responses in flight. The `http.Server` is
   * never listen()ed (sockets are handed to it), so node's own idle-connection tracking is not
   * available; drains use this to find idle keep-alive connections and a replaced chain's connections.
   */
  private readonly conns = new Set<ConnState>();
  /** Chains replaced by a push, with the drain window their late connections still get. */
  private readonly staleChains = new WeakMap<FilterChainRuntime, number>();
  private readonly emptyWaiters = new Set<() => void>();
  private readonly socketState = new WeakMap<object, ConnState>();
  private pending: ConnState | null = null;
  private readonly headersTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly rawCodec: boolean;
  private sslStats: HandshakeStats | null = null;
  private bound: { address: string; port: number } | null = null;
  draining = false;

  constructor(
    readonly name: string,
    readonly host: string,
    readonly port: number,
    private chains: ListenerChains,
    private readonly logger: Logger,
    private readonly stats: StatsStore,
    limits: { maxHeaderBytes: number; headersTimeoutMs: number; maxConcurrentStreams: number; idleTimeoutMs: number },
    private readonly clock: Clock = systemClock,
  ) {
    this.h1 = http.createServer({
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: Math.max(300000, limits.headersTimeoutMs + 1),
      keepAliveTimeout: Math.min(limits.idleTimeoutMs, 300000),
      insecureHTTPParser: false,
    });
    // Node checks headersTimeout only for servers it listens with; connections are handed to
    // this one, so the first request's header deadline is enforced per connection (dispatch).
    this.headersTimeoutMs = limits.headersTimeoutMs;
    this.idleTimeoutMs = Math.min(limits.idleTimeoutMs, 300000);
    this.rawCodec = !useNodeCodec();
    this.h1.timeout = Math.min(limits.idleTimeoutMs, 300000);
    this.h1.maxHeadersCount = 0;
    this.h1.on('request', (req, res) => this.onRequest(req, res, this.socketState.get(req.socket)));
    this.h1.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const st = this.socketState.get(socket);
      if (!st?.chain.hcm) return socket.destroy();
      // A tunnel is one long stream, not an idle keep-alive connection: drain leaves it to the window.
      st.h1 = undefined;
      st.chain.hcm.handleConnect(req, socket, head, st.conn);
    });
    // Registering 'upgrade' makes node hand every Upgrade request here; the ones the connection
    // manager does not accept are answered as plain requests.
    this.h1.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const st = this.socketState.get(socket);
      const hcm = st?.chain.hcm;
      if (!hcm || !st) return socket.destroy();
      if (hcm.handleUpgrade(req, socket, head)) {
        st.h1 = undefined; // a WebSocket tunnel lasts until it ends or the drain window does
        return;
      }
      if (head.length) socket.unshift(head);
      const serve = () => {
        const res = new http.ServerResponse(req);
        res.assignSocket(socket);
        res.shouldKeepAlive = false;
        res.once('finish', () => socket.end());
        this.onRequest(req, res, st);
      };
      // The previous keep-alive response may still hold the socket: answer after it (in order).
      const held = socket as net.Socket & { _httpMessage?: http.ServerResponse | null };
      const prev = held._httpMessage;
      if (!prev) return serve();
      const after = () => {
        if (held._httpMessage === prev) prev.detachSocket(socket);
        if (!socket.destroyed) serve();
      };
      if (prev.writableFinished) after();
      else prev.once('finish', after);
    });
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => this.onClientError(err, socket));
    this.h2 = http2.createServer({
      settings: { maxConcurrentStreams: limits.maxConcurrentStreams, enablePush: false },
      maxSessionInvalidFrames: 100,
      maxSessionRejectedStreams: 100,
      maxHeaderListPairs: 256,
    });
    this.h2.on('session', (session: http2.ServerHttp2Session) => {
      if (this.pending) {
        this.socketState.set(session, this.pending);
        this.pending.session = session;
        if (this.pending.draining) session.close();
      }
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      guardRapidReset(session, () => this.logger.warn({ listener: name }, 'HTTP/2 rapid reset: session closed'));
      if (this.idleTimeoutMs > 0) closeWhenIdle(session, this.idleTimeoutMs);
    });
    this.h2.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) =>
      this.onRequest(req, res, this.socketState.get(req.stream.session as object)),
    );
    this.h2.on('sessionError', () => undefined);
    this.server = net.createServer({ pauseOnConnect: true }, (s) => this.onConnection(s));
    this.server.on('error', (e) => this.logger.error({ listener: name, err: String(e) }, 'listener error'));
  }

  /** Binds; resolves with the bound address (port 0 → the kernel's choice). */
  listen(): Promise<{ address: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', onError);
        const a = this.server.address() as net.AddressInfo;
        this.bound = { address: a.address, port: a.port };
        resolve(this.bound);
      });
    });
  }

  /** Envoy's `listener.<address>_<port>.ssl.*` counters, made on first use. */
  private handshakeStats(): HandshakeStats {
    if (!this.sslStats) {
      const a = this.bound ?? { address: this.host, port: this.port };
      this.sslStats = new HandshakeStats(this.stats, `listener.${a.address}_${a.port}.`);
    }
    return this.sslStats;
  }

  address(): { address: string; port: number } | null {
    return this.bound;
  }

  /**
   * New filter chains for connections accepted from now on. Connections accepted under a chain
   * the update no longer has (by `key`) drain over `drainMs` (Envoy's drain on LDS update): an
   * HTTP/1 connection answers its next response with `Connection: close` and then closes, HTTP/2
   * sessions get GOAWAY, and whatever is still open when the window ends (idle keep-alive
   * connections included) is closed. Connections on unchanged chains are left alone; RDS and CDS
   * changes never reach here (routes and clusters are looked up per request).
   */
  update(chains: ListenerChains, drainMs: number): { changed: boolean; draining: number } {
    const keep = new Set([...chains.chains, ...(chains.defaultChain ? [chains.defaultChain] : [])].map((c) => c.key));
    const old = [...this.chains.chains, ...(this.chains.defaultChain ? [this.chains.defaultChain] : [])];
    const oldKeys = new Set(old.map((c) => c.key));
    let changed = [...keep].some((k) => k === undefined || !oldKeys.has(k));
    for (const c of old)
      if (c.key === undefined || !keep.has(c.key)) {
        this.staleChains.set(c, drainMs);
        changed = true;
      }
    this.chains = chains;
    let draining = 0;
    for (const st of this.conns) {
      const ms = this.staleChains.get(st.chain);
      if (ms === undefined || st.draining) continue;
      this.drainConn(st, false, ms);
      draining++;
    }
    return { changed, draining };
  }

  connectionCount(): number {
    return this.sockets.size;
  }

  /** Envoy's FilterChainMatch selection; no match → the default chain, else counted and undefined. */
  private pickChain(facts: ConnectionFacts): FilterChainRuntime | undefined {
    const chain = selectChain(this.chains.chains, facts) ?? this.chains.defaultChain;
    if (!chain) this.noChainMatch();
    return chain;
  }

  /** `listener.<address>.no_filter_chain_match`. */
  private noChainMatch(): void {
    const a = this.bound ?? { address: this.host, port: this.port };
    this.stats.counter(`listener.${a.address}_${a.port}.no_filter_chain_match`).inc();
  }

  private onConnection(socket: net.Socket): void {
    if (this.draining) return void socket.destroy();
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0) for (const w of [...this.emptyWaiters]) w();
    });
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    const base = {
      remoteAddress: (socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
      remotePort: socket.remotePort ?? 0,
      localAddress: (socket.localAddress ?? '').replace(/^::ffff:/, ''),
      localPort: socket.localPort ?? 0,
    };
    const all = [...this.chains.chains, ...(this.chains.defaultChain ? [this.chains.defaultChain] : [])];
    const allTls = all.length > 0 && all.every((c) => c.tls);
    const inspect = !!this.chains.tlsInspector || needsInspection(this.chains.chains.map((c) => c.match));
    const needsPeek = inspect || (!allTls && all.some((c) => c.tls || c.hcm));
    const facts: ConnectionFacts = {
      destinationIp: base.localAddress,
      destinationPort: base.localPort,
      sourceIp: base.remoteAddress,
      sourcePort: base.remotePort,
      transportProtocol: allTls ? 'tls' : 'raw_buffer',
      alpn: [],
    };
    if (!needsPeek) {
      // No detection needed: the kernel socket goes straight to TLS / TCP (fast path, nothing peeked).
      const chain = this.pickChain(facts);
      if (!chain) return void socket.destroy();
      if (chain.tls) return this.startTls(socket, chain, base);
      socket.resume();
      return this.dispatch(socket, chain, { ...base, tls: false, getPeerIdentity: () => undefined }, null);
    }
    const peekOpts = {
      inspect,
      timeoutMs: this.chains.filtersTimeoutMs,
      continueOnTimeout: this.chains.continueOnFiltersTimeout,
    };
    peekConnection(socket, this.clock, peekOpts, (peeked, hello) => {
      // Nothing read only when listener_filters_timeout passed with continue_on_listener_filters_timeout.
      if (peeked.length) socket.unshift(peeked);
      facts.transportProtocol = looksLikeTls(peeked) ? 'tls' : 'raw_buffer';
      if (hello?.kind === 'client-hello') {
        facts.sni = hello.sni;
        facts.alpn = hello.alpn;
      }
      const chain = this.pickChain(facts);
      if (!chain) return void socket.destroy();
      // TLS takes the native handle (TLSWrap): the TLSSocket hands the ClientHello unshifted above
      // to OpenSSL first, so no encrypted byte crosses a JS stream. The socket is not resumed.
      if (chain.tls) this.startTls(socket, chain, base);
      else
        this.dispatch(
          socket,
          chain,
          { ...base, tls: false, getPeerIdentity: () => undefined },
          peeked.length ? peeked : null,
        );
    });
  }

  private startTls(
    socket: net.Socket,
    chain: FilterChainRuntime,
    base: Omit<DownstreamConnection, 'tls' | 'getPeerIdentity'>,
  ): void {
    const t = chain.tls as ResolvedTls;
    let secureContext: tls.SecureContext;
    try {
      secureContext = secureContextFor(t);
    } catch (e) {
      this.logger.warn({ listener: this.name, err: String(e) }, 'TLS context unavailable');
      return void socket.destroy();
    }
    const alpn = t.alpn.length ? t.alpn : chain.hcm ? ['h2', 'http/1.1'] : [];
    const selected = chain;
    // Bytes still buffered in `socket` (a peeked ClientHello) go to OpenSSL first (node's initRead).
    const ts = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext,
      requestCert: t.requireClientCert || t.options().ca !== undefined,
      // OpenSSL's verdict is read after the handshake (checkPeer) so every refusal is counted.
      rejectUnauthorized: false,
      ALPNProtocols: alpn,
    });
    ts.on('error', () => {
      this.handshakeStats().connectionError.inc();
      socket.destroy();
    });
    ts.once('secure', () => {
      const st = selected.tls as ResolvedTls;
      // Chain verdict, required certificate and SAN match on the DER SANs (a SAN with a NUL or
      // control character is never an identity).
      const check = checkPeer(ts, st.requireClientCert, st.sanMatchers);
      this.handshakeStats().record(check);
      if (!check.ok) {
        this.logger.info({ listener: this.name, reason: check.reason, detail: check.detail }, 'TLS peer refused');
        return void ts.destroy();
      }
      const local = uriSans(ts.getCertificate() as tls.PeerCertificate)[0];
      const peerIdentity = check.peerIdentity;
      const conn: DownstreamConnection = {
        ...base,
        tls: true,
        sni: (ts as tls.TLSSocket & { servername?: string }).servername || undefined,
        peerIdentity,
        localIdentity: local,
        getPeerIdentity: () => peerIdentity,
      };
      this.dispatch(ts, selected, conn, null, ts.alpnProtocol === 'h2', socket);
    });
    // TLSWrap starts reading the handle itself (next tick, after the buffered bytes). The net.Socket
    // stays paused: resuming it too stalled every handshake whose ClientHello had been peeked (node 20).
  }

  private dispatch(
    socket: net.Socket,
    chain: FilterChainRuntime,
    conn: DownstreamConnection,
    first: Buffer | null,
    alpnH2 = false,
    raw: net.Socket = socket,
  ): void {
    // The limit in force when the connection was accepted (a push changing it replaces the chains).
    const limit = this.chains.bufferLimitBytes;
    applyBufferLimit(socket, limit);
    if (raw !== socket) applyBufferLimit(raw, limit);
    conn.bufferLimitBytes = limit ?? DEFAULT_BUFFER_LIMIT_BYTES;
    const state: ConnState = { chain, conn, raw, draining: false };
    this.conns.add(state);
    raw.once('close', () => {
      this.conns.delete(state);
      state.drainTimer?.cancel();
    });
    // Accepted under a chain that a push replaced while it was being peeked or handshaken.
    const staleMs = this.staleChains.get(chain);
    if (staleMs !== undefined) this.drainConn(state, false, staleMs);
    if (chain.tcp) {
      socket.resume();
      return chain.tcp.handle(socket, conn);
    }
    const hcm = chain.hcm;
    if (!hcm) return void socket.destroy();
    const isH2 =
      alpnH2 ||
      (first !== null &&
        first.length >= 3 &&
        H2_PREFACE.subarray(0, Math.min(first.length, 24)).equals(first.subarray(0, Math.min(first.length, 24))));
    hcm.stats.recordConnection(socket, isH2, conn.tls);
    if (isH2) {
      this.pending = state;
      // nghttp2 reads the native handle directly, so bytes already peeked would be lost, and a
      // server-side TLSSocket we created ourselves never feeds it: hand it a JS stream instead.
      this.h2.emit('connection', first !== null || alpnH2 ? replayStream(socket) : socket);
      this.pending = null;
    } else {
      this.socketState.set(socket, state);
      state.h1 = { socket, open: [] };
      if (this.headersTimeoutMs > 0) {
        const t = this.clock.setTimeout(() => {
          if (!socket.destroyed)
            socket.end('HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
          this.clock.setTimeout(() => socket.destroy(), 100);
        }, this.headersTimeoutMs);
        state.headersTimer = t;
        socket.once('close', () => t.cancel());
      }
      if (this.rawCodec) this.serveRaw(socket, state, hcm);
      else this.h1.emit('connection', socket);
    }
    socket.resume();
  }

  /** The raw HTTP/1.1 codec on this connection; Upgrade/CONNECT go on to node's `http.Server`. */
  private serveRaw(socket: net.Socket, state: ConnState, hcm: ConnectionManager): void {
    const s = hcm.settings;
    new Http1ServerConnection(
      socket,
      { maxHeadBytes: s.maxRequestHeadersBytes, maxHeaders: s.maxHeadersCount, idleTimeoutMs: this.idleTimeoutMs },
      {
        onRequest: (req, res) => this.onRequest(req, res, state),
        handOff: (sock) => {
          this.h1.emit('connection', sock);
          sock.resume();
        },
        onRefused: (status) => this.countRefused(state, status),
      },
    );
  }

  private onRequest(req: DownstreamRequest, res: DownstreamResponse, st: ConnState | undefined): void {
    const hcm = st?.chain.hcm;
    if (!hcm || !st) {
      res.writeHead(503);
      res.end();
      return;
    }
    if (st.headersTimer) {
      st.headersTimer.cancel();
      st.headersTimer = undefined;
    }
    if (req.httpVersionMajor === 1) this.trackH1(st, res as unknown as H1Response);
    hcm.handle(req, res, st.conn);
  }

  /** Counts an HTTP/1 response in flight; while draining its connection closes once it is done. */
  private trackH1(st: ConnState, res: H1Response): void {
    if (st.draining || this.draining) res.shouldKeepAlive = false;
    const c = st.h1;
    if (!c) return;
    c.open.push(res);
    // 'close' comes once per response ('on': no once-wrapper and no listener removal per request).
    res.on('close', () => {
      const open = c.open;
      const i = open.indexOf(res);
      if (i >= 0) {
        open[i] = open[open.length - 1];
        open.pop();
      }
      // Headers sent before the drain began could not say `Connection: close`: close it now.
      if ((st.draining || this.draining) && c.open.length === 0 && !c.socket.destroyed) c.socket.end();
    });
  }

  /**
   * Starts draining one connection. HTTP/2: GOAWAY, in-flight streams finish. HTTP/1: in-flight
   * responses whose headers are not out yet say `Connection: close` (the connection closes after
   * the last one); an idle one is closed now when `closeIdle` (shutdown), otherwise it may still
   * send one request, answered with `Connection: close` (a push: no keep-alive race for a client
   * that sends right after it). With `windowMs`, the connection is destroyed when the window ends.
   */
  private drainConn(st: ConnState, closeIdle: boolean, windowMs?: number): void {
    if (windowMs !== undefined && !st.drainTimer && !st.raw.destroyed)
      st.drainTimer = this.clock.setTimeout(() => {
        st.h1?.socket.destroy();
        st.raw.destroy();
      }, windowMs);
    if (st.draining) return;
    st.draining = true;
    st.session?.close();
    const c = st.h1;
    if (!c) return;
    if (c.open.length === 0) {
      if (closeIdle) {
        c.socket.destroy();
        st.raw.destroy();
      }
      return;
    }
    for (const res of c.open) if (!res.headersSent) res.shouldKeepAlive = false;
  }

  /** Malformed HTTP/1 from the client: answer 400/431/408 and close; nothing went upstream. */
  private onClientError(err: NodeJS.ErrnoException, socket: net.Socket): void {
    const st = this.socketState.get(socket);
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    if (st) this.countRefused(st, code);
    if (!socket.writable || (socket as net.Socket & { _httpMessage?: unknown })._httpMessage)
      return void socket.destroy();
    const reason = code === 431 ? 'Request Header Fields Too Large' : code === 408 ? 'Request Timeout' : 'Bad Request';
    socket.end(`HTTP/1.1 ${code} ${reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
  }

  /** A malformed request answered by the codec: `downstream_rq_too_large`-style counters. */
  private countRefused(st: ConnState, code: number): void {
    const stats = st.chain.hcm?.stats;
    if (!stats) return;
    if (code === 431) stats.headerOverflow.inc();
    else stats.rqBadRequest.inc();
    stats.recordStatus(code);
  }

  /**
   * Graceful drain: stop accepting; idle HTTP/1 keep-alive connections are closed at once, busy
   * ones answer their in-flight request with `Connection: close` (or are closed right after it
   * when its headers were already sent); HTTP/2 sessions get GOAWAY and close when their streams
   * finish. Whatever is still open after `ms` (on the injected clock) is destroyed.
   */
  async drain(ms: number): Promise<void> {
    this.draining = true;
    this.server.close();
    for (const s of this.sessions) s.close();
    for (const st of this.conns) {
      // A connection already draining for a push may still be idle: shutdown closes it now.
      if (st.draining && st.h1?.open.length === 0) {
        st.h1.socket.destroy();
        st.raw.destroy();
      } else this.drainConn(st, true);
    }
    if (this.sockets.size > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          timer.cancel();
          this.emptyWaiters.delete(done);
          resolve();
        };
        const timer = this.clock.setTimeout(done, ms);
        this.emptyWaiters.add(done);
      });
    }
    for (const s of this.sockets) s.destroy();
  }

  /** Immediate stop: close the socket and every connection. */
  close(): void {
    this.draining = true;
    this.server.close();
    for (const s of this.sessions) s.destroy();
    for (const s of this.sockets) s.destroy();
  }
}
