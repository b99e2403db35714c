/**
 * A pooled raw HTTP/1.1 client: keep-alive connections per host (LIFO), plaintext or over TLS
 * (UpstreamTlsContext: SNI, ALPN, secure naming, session reuse, rotated material per new connection),
 * the request head written as one string, and a small incremental response parser (status line,
 * headers, Content-Length / chunked / close-delimited bodies, 1xx skipped, trailers). It avoids
 * `http.ClientRequest`/`IncomingMessage` per request, the main per-request cost of a Node relay.
 * A request that meets a connection the server closed while idle (no response byte yet) is
 * replayed once on a fresh connection.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { Clock, TimerHandle } from '@tsmesh/core';
import type { UpstreamTlsOptions } from '../tls/context';
import { applyBufferLimit } from '../listeners/socket-helpers';
import { readsIntoBuffer, UpstreamTlsConnector } from '../tls/upstream-connect';
import type { ClusterStats } from './cluster-stats';
import type { Host } from './host';
import type { Readable } from 'node:stream';
import type { RequestHead, UpstreamHandlers, UpstreamPool, UpstreamResponseHead, UpstreamStream } from './pool';
import {
  parseHeaderBlock,
  parseStatusLine,
  RawBody,
  serializeHead,
  type BodySource,
  type Headers,
} from './raw-http1-codec';

const MAX_HEAD = 64 * 1024;
const CRLF2 = Buffer.from('\r\n\r\n');
/**
 * Connections, plaintext and TLS, read into this one buffer (net's and tls.connect's `onread`): no Buffer allocation and no
 * Readable-stream bookkeeping (push, 'data' event, read-more tick) per read. Bytes are handled
 * synchronously in the callback; whatever outlives it (a partial line, body chunks) is copied out
 * with `own()`. One buffer serves every connection: reads never nest.
 */
const READ_BUFFER = Buffer.alloc(64 * 1024);
const READ_AB = READ_BUFFER.buffer;
/** Request body bytes held for an exchange still waiting for a connection (unless the cluster sets a limit). */
const WAIT_BUFFER = 64 * 1024;

/** `b` itself, or a copy when it is a view of the shared read buffer. */
function own(b: Buffer): Buffer {
  return b.buffer === READ_AB ? Buffer.from(b) : b;
}

/**
 * One request/response exchange, which is also the router's handle on it (`UpstreamStream`): one
 * object per request with its methods on the prototype, no closures. (A per-request object
 * literal with a getter would get a hidden class of its own each time, and V8's map transition
 * tree would keep every request's objects alive until the next full GC.)
 */
class Exchange implements UpstreamStream {
  head: string;
  readonly method: string;
  readonly chunked: boolean;
  pending: Buffer[] = [];
  ended = false;
  aborted = false;
  gotBytes = false;
  replayed = false;
  /** Body bytes already written (a replay is only safe before any). */
  wroteBody = false;
  /** The connection carrying it, once assigned. */
  conn: Conn | null = null;
  /** Emits 'drain' when a waiting exchange gets its connection (made only if someone waits). */
  events?: EventEmitter;

  constructor(
    readonly pool: RawHttp1Pool,
    readonly host: Host,
    readonly reqHead: RequestHead,
    readonly handlers: UpstreamHandlers,
  ) {
    this.method = reqHead.method;
    this.chunked = reqHead.bodyFraming === 'chunked';
    this.head = serializeHead(reqHead, this.chunked);
  }

  write(chunk: Buffer): boolean {
    if (this.aborted) return false;
    this.pending.push(chunk);
    const c = this.conn;
    if (c?.ex === this && c.connected) {
      c.flushRequest();
      return !c.socket.writableNeedDrain;
    }
    // Waiting for a connection: hold at most WAIT_BUFFER bytes, then push back on the client.
    let held = 0;
    for (const p of this.pending) held += p.length;
    return held < (this.pool.bufferLimit || WAIT_BUFFER);
  }

  end(chunk?: Buffer): void {
    if (chunk) this.pending.push(chunk);
    this.ended = true;
    const c = this.conn;
    if (c?.ex === this) c.flushRequest();
  }

  abort(): void {
    this.aborted = true;
    const c = this.conn;
    if (c && c.ex === this) {
      c.reusable = false;
      c.socket.destroy();
    } else this.pool.unqueue(this);
  }

  get writable(): NodeJS.WritableStream {
    // Until its connection can carry bytes, 'drain' comes from the exchange itself.
    const c = this.conn;
    return (c?.connected ? c.socket : (this.events ??= new EventEmitter())) as unknown as NodeJS.WritableStream;
  }
}

/** What the router gets for a response: no per-response closures. */
class RawResponseHead implements UpstreamResponseHead {
  readonly body: Readable;
  constructor(
    readonly status: number,
    readonly headers: Headers,
    private readonly raw: RawBody,
  ) {
    this.body = raw as unknown as Readable;
  }
  onTrailers(cb: (trailers: Headers) => void): void {
    this.raw.whenEnded(cb);
  }
}

class Conn implements BodySource {
  readonly socket: net.Socket;
  ex: Exchange | null = null;
  reusable = true;
  /** TCP connected (plaintext) or TLS handshake done and the peer verified: requests may go out. */
  connected = false;
  /** connect_timeout, until `connected`. */
  connectTimer?: TimerHandle;
  /** Exchanges started on this connection (a replay only makes sense for a reused one). */
  reusedCount = 0;
  private buf: Buffer | null = null;
  private state: 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'close' | 'idle' =
    'idle';
  private remaining = 0;
  private body: RawBody | null = null;
  private noBody = false;

  constructor(
    readonly pool: RawHttp1Pool,
    readonly host: Host,
    tls: UpstreamTlsConnector | null,
  ) {
    const onread = { buffer: READ_BUFFER, callback: (n: number) => this.onData(READ_BUFFER.subarray(0, n)) };
    if (tls) {
      // Decrypted bytes go to READ_BUFFER too (tls.connect's `onread`); 'data' events otherwise.
      const socket = tls.connect(host.address, host.port, onread);
      if (!readsIntoBuffer(socket, READ_BUFFER)) socket.on('data', (d: Buffer) => this.onData(d));
      this.socket = socket;
    } else {
      this.socket = net.connect({ host: host.address, port: host.port, noDelay: true, onread });
    }
    applyBufferLimit(this.socket, pool.bufferLimit);
    // Nothing is written before the peer is verified (secure naming), not even the request head.
    this.socket.once(tls ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      this.connectTimer?.cancel();
      const ex = this.ex;
      if (!ex) return;
      if (ex.ended || ex.pending.length) this.flushRequest();
      ex.events?.emit('drain');
    });
    this.socket.on('error', () => undefined);
    this.socket.once('close', () => this.onClose());
  }

  start(ex: Exchange): void {
    this.ex = ex;
    this.reusedCount++;
    this.state = 'head';
    this.buf = null;
    this.body = null;
    this.noBody = ex.method === 'HEAD';
    if (!this.connected) return;
    if (ex.ended || ex.pending.length) this.flushRequest();
    ex.events?.emit('drain');
  }

  /** Writes the head plus whatever body is pending in as few writes as possible. */
  flushRequest(): void {
    const ex = this.ex;
    if (!ex || !this.connected) return;
    if (ex.head) {
      const first = ex.head;
      ex.head = '';
      if (ex.pending.length === 0) {
        this.socket.write(ex.ended && ex.chunked ? first + '0\r\n\r\n' : first, 'latin1');
        return;
      }
      this.socket.cork();
      this.socket.write(first, 'latin1');
      this.writeBody(ex);
      process.nextTick(() => this.socket.uncork());
      return;
    }
    this.writeBody(ex);
  }

  private writeBody(ex: Exchange): void {
    if (ex.pending.length) ex.wroteBody = true;
    for (const c of ex.pending) {
      if (ex.chunked) this.socket.write(`${c.length.toString(16)}\r\n`, 'latin1');
      this.socket.write(c);
      if (ex.chunked) this.socket.write('\r\n', 'latin1');
    }
    ex.pending.length = 0;
    if (ex.ended && ex.chunked) this.socket.write('0\r\n\r\n', 'latin1');
  }

  /** Bytes read (usually a view of READ_BUFFER, valid only until this returns). */
  private onData(d: Buffer): true {
    const ex = this.ex;
    if (!ex) {
      // Bytes on an idle connection: the server is confused; never reuse it.
      this.reusable = false;
      this.socket.destroy();
      return true;
    }
    ex.gotBytes = true;
    let data = this.buf ? Buffer.concat([this.buf, d]) : d;
    this.buf = null;
    try {
      while (data.length > 0 && this.ex === ex) {
        data = this.step(ex, data);
      }
      // Bytes after a complete response (the server pipelined garbage): do not reuse.
      if (data.length > 0 && this.ex === null) {
        this.reusable = false;
        this.socket.destroy();
      }
    } catch (e) {
      this.protocolError(ex, e as Error);
    }
    return true;
  }

  /** Consumes what it can from `data`; returns the rest (empty when it needs more bytes). */
  private step(ex: Exchange, data: Buffer): Buffer {
    switch (this.state) {
      case 'head': {
        const end = data.indexOf(CRLF2);
        if (end < 0) {
          if (data.length > MAX_HEAD) throw new Error('upstream response head too large');
          this.buf = own(data);
          return EMPTY;
        }
        const rest = end + 4 < data.length ? data.subarray(end + 4) : EMPTY;
        if (this.parseHead(ex, data.toString('latin1', 0, end))) return rest;
        return rest;
      }
      case 'length': {
        const n = Math.min(this.remaining, data.length);
        this.body?.push(own(n === data.length ? data : data.subarray(0, n)));
        this.remaining -= n;
        if (this.remaining === 0) this.complete();
        return n === data.length ? EMPTY : data.subarray(n);
      }
      case 'close':
        this.body?.push(own(data));
        return EMPTY;
      case 'chunk-size': {
        const nl = data.indexOf('\r\n');
        if (nl < 0) {
          if (data.length > 1024) throw new Error('bad chunk size line');
          this.buf = own(data);
          return EMPTY;
        }
        const line = data.toString('latin1', 0, nl);
        const size = parseInt(line.split(';')[0].trim(), 16);
        if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+/.test(line)) throw new Error('bad chunk size');
        this.remaining = size;
        this.state = size === 0 ? 'trailers' : 'chunk-data';
        return data.subarray(nl + 2);
      }
      case 'chunk-data': {
        const n = Math.min(this.remaining, data.length);
        this.body?.push(own(n === data.length ? data : data.subarray(0, n)));
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'chunk-crlf';
        return data.subarray(n);
      }
      case 'chunk-crlf': {
        if (data.length < 2) {
          this.buf = own(data);
          return EMPTY;
        }
        if (data[0] !== 13 || data[1] !== 10) throw new Error('bad chunk terminator');
        this.state = 'chunk-size';
        return data.subarray(2);
      }
      case 'trailers': {
        if (data.length >= 2 && data[0] === 13 && data[1] === 10) {
          this.complete();
          return data.subarray(2);
        }
        const end = data.indexOf(CRLF2);
        if (end < 0) {
          if (data.length > MAX_HEAD) throw new Error('trailers too large');
          this.buf = own(data);
          return EMPTY;
        }
        if (this.body) this.body.trailers = parseHeaderBlock(data.toString('latin1', 0, end), 0);
        this.complete();
        return data.subarray(end + 4);
      }
      default:
        this.reusable = false;
        return EMPTY;
    }
  }

  private parseHead(ex: Exchange, text: string): boolean {
    let lineEnd = text.indexOf('\r\n');
    if (lineEnd < 0) lineEnd = text.length;
    // HTTP/1.x minor digit * 1000 + status code.
    const st = parseStatusLine(text, lineEnd);
    if (st < 0) throw new Error('bad status line');
    const status = st % 1000;
    const http10 = st < 1000;
    const headers = parseHeaderBlock(text, lineEnd + 2);
    if (status >= 100 && status < 200) {
      if (status === 101) throw new Error('unexpected protocol switch');
      this.state = 'head';
      return true;
    }
    const conn = String(headers['connection'] ?? '').toLowerCase();
    if (http10 ? !conn.includes('keep-alive') : conn.includes('close')) this.reusable = false;
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (this.noBody || status === 204 || status === 304) {
      this.state = 'idle';
    } else if (te !== undefined) {
      if (!String(te).toLowerCase().endsWith('chunked')) throw new Error('unsupported transfer-encoding');
      if (cl !== undefined) throw new Error('content-length with transfer-encoding');
      delete headers['transfer-encoding'];
      this.state = 'chunk-size';
    } else if (cl !== undefined) {
      if (Array.isArray(cl) || !/^\d+$/.test(cl)) throw new Error('bad content-length');
      this.remaining = Number(cl);
      this.state = this.remaining === 0 ? 'idle' : 'length';
    } else {
      this.state = 'close';
      this.reusable = false;
    }
    const body = new RawBody(this);
    this.body = body;
    ex.handlers.onResponse(new RawResponseHead(status, headers, body));
    if (this.state === 'idle') this.complete();
    return true;
  }

  /** The router paused or resumed `body` (only while it owns the connection). */
  bodyPaused(body: RawBody, paused: boolean): void {
    if (this.body !== body) return;
    if (paused) this.socket.pause();
    else this.socket.resume();
  }

  private complete(): void {
    const body = this.body;
    const ex = this.ex;
    this.body = null;
    this.ex = null;
    this.state = 'idle';
    // The router may have paused this response (slow client) after its last byte was read; the
    // pause belonged to that response, so the connection goes back to the pool reading again.
    if (this.socket.isPaused()) this.socket.resume();
    body?.finish();
    if (ex && !ex.ended) {
      // Response finished before the request body: this connection cannot carry another request.
      this.reusable = false;
    }
    this.pool.release(this);
  }

  private protocolError(ex: Exchange, err: Error): void {
    this.reusable = false;
    const body = this.body;
    this.ex = null;
    this.body = null;
    if (body) body.fail(err);
    else ex.handlers.onError('reset', err);
    this.socket.destroy();
  }

  private onClose(): void {
    this.pool.forget(this);
    const ex = this.ex;
    this.ex = null;
    if (!ex || ex.aborted) return;
    if (this.state === 'close' && this.body) {
      const b = this.body;
      this.body = null;
      b.finish();
      return;
    }
    if (this.body) {
      this.body.fail(new Error('upstream closed mid-body'));
      return;
    }
    this.pool.failed(this, ex, this.connected);
  }
}

const EMPTY = Buffer.alloc(0);

interface HostPool {
  idle: Conn[];
  waiting: Exchange[];
  total: number;
}

export class RawHttp1Pool implements UpstreamPool {
  private readonly hosts = new Map<string, HostPool>();
  private readonly tls: UpstreamTlsConnector | null;
  private open = 0;
  private closed = false;

  constructor(
    private readonly opts: {
      clock: Clock;
      connectTimeoutMs: number;
      maxConnections: number;
      stats: ClusterStats;
      /** UpstreamTlsContext, or null for plaintext. */
      tls?: UpstreamTlsOptions | null;
      /** The cluster's `per_connection_buffer_limit_bytes` (0/unset: node's thresholds). */
      bufferLimitBytes?: number;
    },
  ) {
    this.tls = opts.tls ? new UpstreamTlsConnector(opts.tls) : null;
    this.bufferLimit = opts.bufferLimitBytes ?? 0;
  }

  /** Soft per-connection buffer limit in bytes (0: node's defaults). */
  readonly bufferLimit: number;

  connections(): number {
    return this.open;
  }

  private hostPool(host: Host): HostPool {
    let p = this.hosts.get(host.key);
    if (!p) this.hosts.set(host.key, (p = { idle: [], waiting: [], total: 0 }));
    return p;
  }

  request(host: Host, head: RequestHead, handlers: UpstreamHandlers): UpstreamStream {
    const ex = new Exchange(this, host, head, handlers);
    this.assign(ex);
    return ex;
  }

  /** An aborted exchange leaves the wait queue. */
  unqueue(ex: Exchange): void {
    const hp = this.hostPool(ex.host);
    const i = hp.waiting.indexOf(ex);
    if (i >= 0) hp.waiting.splice(i, 1);
  }

  private assign(ex: Exchange): void {
    const hp = this.hostPool(ex.host);
    let conn = hp.idle.pop();
    while (conn && (conn.socket.destroyed || !conn.reusable)) conn = hp.idle.pop();
    if (!conn && hp.total < Math.max(1, this.opts.maxConnections)) conn = this.connect(ex.host, hp);
    if (!conn) {
      hp.waiting.push(ex);
      return;
    }
    ex.conn = conn;
    conn.start(ex);
  }

  private connect(host: Host, hp: HostPool): Conn {
    const { stats, clock } = this.opts;
    const conn = new Conn(this, host, this.tls);
    hp.total++;
    this.open++;
    host.cxActive++;
    host.cxTotal++;
    stats.cxTotal.inc();
    stats.cxHttp1Total.inc();
    stats.cxActive.inc();
    // connect_timeout covers the TLS handshake too (Envoy: until the transport socket is connected).
    const t = clock.setTimeout(() => {
      stats.cxConnectTimeout.inc();
      conn.socket.destroy();
    }, this.opts.connectTimeoutMs);
    conn.connectTimer = t;
    conn.socket.once('close', () => t.cancel());
    return conn;
  }

  /** An exchange finished on `conn`: reuse it for a waiting request or park it. */
  release(conn: Conn): void {
    const hp = this.hostPool(conn.host);
    if (!conn.reusable || this.closed) {
      conn.socket.destroy();
      return;
    }
    const next = hp.waiting.shift();
    if (next) {
      next.conn = conn;
      conn.start(next);
      return;
    }
    hp.idle.push(conn);
  }

  /** The connection closed. */
  forget(conn: Conn): void {
    const hp = this.hostPool(conn.host);
    hp.total--;
    this.open--;
    conn.host.cxActive--;
    this.opts.stats.cxActive.dec();
    const i = hp.idle.indexOf(conn);
    if (i >= 0) hp.idle.splice(i, 1);
    // A slot freed: start a waiting request on a new connection.
    const next = hp.waiting.shift();
    if (next && !this.closed) this.assign(next);
  }

  /** The connection died before any response byte for `ex`. */
  failed(conn: Conn, ex: Exchange, connected: boolean): void {
    if (!connected) {
      conn.host.cxConnectFail++;
      this.opts.stats.cxConnectFail.inc();
      ex.handlers.onError('connect', new Error('upstream connect failed'));
      return;
    }
    // A reused keep-alive connection the server had already closed: replay once on a new one.
    if (conn.reusedCount > 1 && !ex.gotBytes && !ex.replayed && !ex.wroteBody && !this.closed) {
      ex.replayed = true;
      ex.head = serializeHead(ex.reqHead, ex.chunked);
      const hp = this.hostPool(ex.host);
      if (hp.total < Math.max(1, this.opts.maxConnections)) {
        const c = this.connect(ex.host, hp);
        ex.conn = c;
        c.start(ex);
        return;
      }
    }
    ex.handlers.onError('reset', new Error('upstream connection reset'));
  }

  close(): void {
    this.closed = true;
    for (const hp of this.hosts.values()) {
      for (const c of hp.idle) c.socket.destroy();
      hp.idle = [];
    }
  }
}
