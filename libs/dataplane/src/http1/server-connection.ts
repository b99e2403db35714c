/**
 * The downstream HTTP/1.1 codec on a raw socket (plain or TLS): request heads parsed straight
 * off the socket (strict, see request-head.ts), bodies streamed (Content-Length or chunked) with
 * back-pressure, responses serialized and written directly — no `http.Server`, `IncomingMessage`
 * or `ServerResponse` per request. Requests on a keep-alive connection are served one at a time:
 * bytes of pipelined requests wait (bounded) until the current response and request body are
 * both complete, so responses always go out in order. A request this codec does not serve
 * (Upgrade, CONNECT) is handed, unread, to node's `http.Server` together with the connection.
 */
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type net from 'node:net';
import { RawBody, type BodySource } from '../upstream/raw-http1-codec';
import { BodyDecoder } from './body-decoder';
import { hasBadValueChar, isLowerToken, isToken } from './header-chars';
import { isHeadError, parseRequestHead, type RequestHead, type RequestHeaders } from './request-head';
import { readIntoBuffer } from './user-buffer';

const CRLF2 = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');
/** Pipelined bytes held while a request is in flight before the socket stops being read. */
const PIPELINE_BUFFER = 64 * 1024;
/** A first body chunk up to this size is written in one string together with the head. */
const SMALL_BODY = 16 * 1024;
/**
 * Plaintext connections read into this one buffer (user-buffer.ts): no Buffer, Readable push or
 * 'data' event per read. Bytes are handled synchronously in the read callback; what outlives it
 * (unparsed bytes, body chunks, bytes handed on with the socket) is copied out with `own()`.
 * One buffer serves every downstream connection: reads never nest.
 */
const READ_BUFFER = Buffer.alloc(64 * 1024);
const READ_AB = READ_BUFFER.buffer;

/** `b` itself, or a copy when it is a view of the shared read buffer. */
function own(b: Buffer): Buffer {
  return b.buffer === READ_AB ? Buffer.from(b) : b;
}

export interface Http1CodecOptions {
  /** Request line plus header fields, in bytes (431 beyond). */
  maxHeadBytes: number;
  /** Header fields per request (431 beyond). */
  maxHeaders: number;
  /** Inactivity of a connection with no request in flight before it is closed; 0 = none. */
  idleTimeoutMs: number;
}

export interface Http1CodecHooks {
  /** A request head is complete (its body, if any, streams through `req`). */
  onRequest(req: Http1Request, res: Http1Response): void;
  /** A request this codec does not serve: the socket, with its bytes unread, goes elsewhere. */
  handOff(socket: net.Socket): void;
  /** A malformed request was refused with `status` (the connection closes). */
  onRefused(status: number, reason: string): void;
}

/** One request as the connection manager reads it (the fields it uses of `IncomingMessage`). */
export class Http1Request extends RawBody {
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor: number;
  readonly method: string;
  readonly url: string;
  readonly headers: RequestHeaders;
  readonly headerCount: number;
  private readonly noBody: boolean;

  constructor(head: RequestHead, source: Http1ServerConnection) {
    super(source);
    this.method = head.method;
    this.url = head.url;
    this.headers = head.headers;
    this.headerCount = head.headerCount;
    this.httpVersionMinor = head.versionMinor;
    this.noBody = head.framing === 'none';
  }

  /** A request without a body is complete when its head is. */
  override get readableEnded(): boolean {
    return this.noBody || super.readableEnded;
  }
}

let dateCache = '';
let dateSecond = 0;
/** RFC 9110 `Date`, formatted once per second. */
function httpDate(): string {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  if (sec !== dateSecond) {
    dateSecond = sec;
    dateCache = new Date(now).toUTCString();
  }
  return dateCache;
}

type OutHeaders = Record<string, string | number | readonly string[] | undefined>;

/** One response (the fields the connection manager and router use of `ServerResponse`). */
export class Http1Response extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableFinished = false;
  /** False: the connection closes after this response (`Connection: close` when not yet sent). */
  shouldKeepAlive: boolean;
  /** Serialized status line and fields, not yet written (the framing field is added on flush). */
  private head: string | null = null;
  private mode: 'length' | 'chunked' | 'close' | 'none' | 'auto' = 'auto';
  private ended = false;
  private trailers: OutHeaders | null = null;
  private waitingDrain = false;
  /** Tells the connection the response ended (queued by `end()`). */
  private readonly done = (): void => this.conn.responseDone(this);

  constructor(
    private readonly conn: Http1ServerConnection,
    private readonly socket: net.Socket,
    private readonly req: Http1Request,
    keepAlive: boolean,
  ) {
    super();
    this.shouldKeepAlive = keepAlive;
  }

  writeHead(status: number, headers?: OutHeaders): this {
    if (this.headersSent) throw new Error('response headers already sent');
    if (!(status >= 100 && status <= 999)) throw new RangeError(`invalid status code ${status}`);
    this.statusCode = status;
    let h = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    let date = false;
    let connection = false;
    let length = false;
    let chunked = false;
    if (headers)
      for (const k in headers) {
        const v = headers[k];
        if (v === undefined) continue;
        let lk = k;
        if (!isLowerToken(k)) {
          if (!isToken(k)) throw new TypeError(`invalid header name "${k}"`);
          lk = k.toLowerCase();
        }
        if (lk === 'date') date = true;
        else if (lk === 'content-length') length = true;
        else if (lk === 'transfer-encoding') chunked = true;
        else if (lk === 'connection') {
          connection = true;
          if (/close/i.test(String(v))) this.shouldKeepAlive = false;
        }
        if (typeof v === 'object') {
          for (const x of v) {
            if (hasBadValueChar(x)) throw new TypeError(`invalid value for header "${k}"`);
            h += `${k}: ${x}\r\n`;
          }
        } else {
          const s = typeof v === 'string' ? v : String(v);
          if (hasBadValueChar(s)) throw new TypeError(`invalid value for header "${k}"`);
          h += `${k}: ${s}\r\n`;
        }
      }
    if (!date) h += `date: ${httpDate()}\r\n`;
    const noBody = this.req.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    if (length) this.mode = noBody ? 'none' : 'length';
    else if (chunked) this.mode = noBody ? 'none' : 'chunked';
    else if (noBody) this.mode = 'none';
    else if (this.req.httpVersionMinor === 0) {
      // HTTP/1.0 without a length: the body ends when the connection does.
      this.mode = 'close';
      this.shouldKeepAlive = false;
    }
    if (!connection) {
      if (!this.shouldKeepAlive) h += 'connection: close\r\n';
      else if (this.req.httpVersionMinor === 0) h += 'connection: keep-alive\r\n';
    }
    this.head = h;
    this.headersSent = true;
    return this;
  }

  /** The pending head with its framing field and the final empty line. */
  private takeHead(bodyLength: number | null): string {
    let h = this.head as string;
    this.head = null;
    if (this.mode === 'auto') {
      if (bodyLength !== null) {
        this.mode = 'length';
        h += `content-length: ${bodyLength}\r\n`;
      } else {
        this.mode = 'chunked';
        h += 'transfer-encoding: chunked\r\n';
      }
    }
    return h + '\r\n';
  }

  write(chunk: Buffer | string): boolean {
    if (this.ended || this.socket.destroyed) return false;
    if (!this.headersSent) this.writeHead(this.statusCode);
    const s = this.socket;
    const len = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (
      this.head !== null &&
      this.mode !== 'chunked' &&
      this.mode !== 'auto' &&
      typeof chunk !== 'string' &&
      len <= SMALL_BODY
    ) {
      // The usual small response: head and first bytes as one latin1 string, one plain write
      // (cheaper than a corked writev of two buffers; latin1 round-trips every byte).
      const body = this.mode === 'none' ? '' : chunk.toString('latin1');
      s.write(this.takeHead(null) + body, 'latin1');
      return this.afterWrite();
    }
    s.cork();
    if (this.head !== null) s.write(this.takeHead(null), 'latin1');
    if (len > 0 && this.mode !== 'none') {
      if (this.mode === 'chunked') {
        s.write(`${len.toString(16)}\r\n`, 'latin1');
        s.write(chunk);
        s.write('\r\n', 'latin1');
      } else s.write(chunk);
    }
    s.uncork();
    return this.afterWrite();
  }

  /** write()'s result: false (and 'drain' later) while the socket's buffer is full. */
  private afterWrite(): boolean {
    const s = this.socket;
    if (s.writableNeedDrain) {
      if (!this.waitingDrain) {
        this.waitingDrain = true;
        s.once('drain', () => {
          this.waitingDrain = false;
          this.emit('drain');
        });
      }
      return false;
    }
    return true;
  }

  addTrailers(trailers: OutHeaders): void {
    this.trailers = trailers;
  }

  end(data?: Buffer | string): this {
    if (this.ended) return this;
    this.ended = true;
    const s = this.socket;
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (!s.destroyed) {
      const len = data === undefined ? 0 : typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      const body = len > 0 && this.mode !== 'none';
      // Nothing left to write (the usual end after a Content-Length body went out): no cork.
      if (this.head !== null || body || this.mode === 'chunked') {
        s.cork();
        if (this.head !== null) s.write(this.takeHead(len), 'latin1');
        if (body) {
          if (this.mode === 'chunked') s.write(`${len.toString(16)}\r\n`, 'latin1');
          s.write(data as Buffer | string);
          if (this.mode === 'chunked') s.write('\r\n', 'latin1');
        }
        if (this.mode === 'chunked') s.write(this.lastChunk(), 'latin1');
        s.uncork();
      }
    }
    // After the caller's stack unwinds (a microtask: no nextTick queue to drain for it).
    queueMicrotask(this.done);
    return this;
  }

  /** `0\r\n`, the trailer fields (invalid ones dropped), the final empty line. */
  private lastChunk(): string {
    let t = '0\r\n';
    const tr = this.trailers;
    if (tr)
      for (const k in tr) {
        const v = tr[k];
        if (v === undefined || !isToken(k)) continue;
        for (const x of typeof v === 'object' ? v : [String(v)]) if (!hasBadValueChar(x)) t += `${k}: ${x}\r\n`;
      }
    return t + '\r\n';
  }

  destroy(): this {
    this.socket.destroy();
    return this;
  }

  /** The stream idle timer (HCM `stream_idle_timeout`): `fn` after `ms` with no byte either way. */
  setTimeout(ms: number, fn: () => void): this {
    this.conn.streamTimeout(this, ms, fn);
    return this;
  }

  /** Called by the connection: the response is complete (`finished`) or the socket went away. */
  settle(finished: boolean): void {
    if (finished) {
      this.writableFinished = true;
      this.emit('finish');
    }
    this.emit('close');
  }
}

interface Exchange {
  req: Http1Request;
  res: Http1Response;
  bodyDone: boolean;
  resDone: boolean;
  /** Called when the connection's inactivity timer fires while this exchange is in flight. */
  onIdle: (() => void) | null;
}

/** One downstream connection served by the fast codec. */
export class Http1ServerConnection implements BodySource {
  private buf: Buffer | null = null;
  private cur: Exchange | null = null;
  private decoder: BodyDecoder | null = null;
  private closed = false;
  private readPaused = false;
  /** Reading into READ_BUFFER (else 'data' events). */
  private readonly shared: boolean;
  /** Handed to node's server: reads go on to the socket's Readable side. */
  private handedOff = false;
  /** The socket's inactivity timeout now: the connection's, or the stream's while one is in flight. */
  private timeoutMs: number;
  /** The inactivity timer fired during an exchange: re-armed with the connection's timeout after it. */
  private timedOutInFlight = false;
  private readonly onData = (d: Buffer) => this.data(d);
  private readonly onEnd = () => this.peerEnded();
  private readonly onClose = () => this.socketClosed();
  private readonly onTimeout = () => this.idle();

  constructor(
    private readonly socket: net.Socket,
    private readonly opts: Http1CodecOptions,
    private readonly hooks: Http1CodecHooks,
  ) {
    // Bytes already buffered (a listener's peek unshifted them) are taken first, then the socket
    // reads into the shared buffer when it can (a TCP or TLS socket), else through 'data' events.
    const pending = socket.readableLength > 0 ? (socket.read() as Buffer | null) : null;
    this.shared = readIntoBuffer(socket, READ_BUFFER, (n: number) => this.read(n));
    if (!this.shared) socket.on('data', this.onData);
    if (pending) process.nextTick(() => this.data(pending));
    socket.on('end', this.onEnd);
    socket.once('close', this.onClose);
    this.timeoutMs = opts.idleTimeoutMs;
    if (opts.idleTimeoutMs > 0) socket.setTimeout(opts.idleTimeoutMs);
    socket.on('timeout', this.onTimeout);
  }

  /** One read into READ_BUFFER (valid only until this returns). */
  private read(n: number): boolean {
    if (this.handedOff) return this.socket.push(Buffer.from(READ_BUFFER.subarray(0, n)));
    this.data(READ_BUFFER.subarray(0, n));
    const b = this.buf;
    if (b !== null && b.buffer === READ_AB) this.buf = Buffer.from(b);
    return true;
  }

  private data(d: Buffer): void {
    if (this.closed) return;
    const ex = this.cur;
    if (ex && this.decoder) {
      const at = this.decoder.feed(d, 0, (c) => this.bodyChunk(ex, c));
      if (at < 0) return this.bodyError();
      if (this.decoder.done) this.bodyEnded(ex);
      if (at < d.length) this.hold(d.subarray(at));
    } else this.hold(d);
    if (!this.cur) this.next();
  }

  /** Keeps unparsed bytes; stops reading while too many wait behind a request in flight. */
  private hold(d: Buffer): void {
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    if (this.cur && this.buf.length > PIPELINE_BUFFER && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    }
  }

  private bodyChunk(ex: Exchange, c: Buffer): void {
    if (!ex.req.push(own(c)) && !this.readPaused) {
      // Nobody reads the body yet (a filter is still deciding): stop reading the socket.
      this.readPaused = true;
      this.socket.pause();
    }
  }

  private bodyEnded(ex: Exchange): void {
    this.decoder = null;
    ex.bodyDone = true;
    ex.req.finish();
    if (ex.resDone) this.exchangeDone(ex);
  }

  /** Parses and starts buffered requests while the connection is idle. */
  private next(): void {
    while (!this.cur && !this.closed && this.buf) {
      const buf = this.buf;
      let start = 0;
      // Empty lines before a request line are ignored (RFC 9112 §2.2).
      while (start + 1 < buf.length && buf[start] === 13 && buf[start + 1] === 10) start += 2;
      const end = buf.indexOf(CRLF2, start);
      if (end < 0) {
        if (buf.length - start > this.opts.maxHeadBytes) return this.refuse(431, 'request head too large');
        if (buf.indexOf(LFLF, start) >= 0) return this.refuse(400, 'bare LF in request head');
        if (start > 0) this.buf = buf.length > start ? buf.subarray(start) : null;
        return;
      }
      if (end - start > this.opts.maxHeadBytes) return this.refuse(431, 'request head too large');
      const head = parseRequestHead(buf.toString('latin1', start, end), this.opts.maxHeaders);
      if (isHeadError(head)) return this.refuse(head.error, head.reason);
      if (head.upgrade || head.method === 'CONNECT') return this.handOff(buf.subarray(start));
      // No empty view when the head was the last thing read (the usual case).
      this.buf = end + 4 < buf.length ? buf.subarray(end + 4) : null;
      this.start(head);
    }
  }

  /** The router paused or resumed a request body. */
  bodyPaused(body: RawBody, paused: boolean): void {
    // Only while this request's body is being read; afterwards the socket serves the next one.
    const ex = this.cur;
    if (!ex || ex.req !== body || ex.bodyDone) return;
    if (paused !== this.readPaused) {
      this.readPaused = paused;
      if (paused) this.socket.pause();
      else this.socket.resume();
    }
  }

  private start(head: RequestHead): void {
    const req = new Http1Request(head, this);
    const res = new Http1Response(this, this.socket, req, head.keepAlive);
    const ex: Exchange = { req, res, bodyDone: head.framing === 'none', resDone: false, onIdle: null };
    this.cur = ex;
    if (!ex.bodyDone) {
      if (head.expectContinue) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
      this.decoder = new BodyDecoder(head.framing as 'length' | 'chunked', head.contentLength, this.opts.maxHeadBytes);
      const rest = this.buf;
      this.buf = null;
      if (rest) {
        const at = this.decoder.feed(rest, 0, (c) => this.bodyChunk(ex, c));
        if (at < 0) return this.bodyError();
        if (this.decoder.done) {
          this.decoder = null;
          ex.bodyDone = true;
          req.finish();
        }
        if (at < rest.length) this.hold(rest.subarray(at));
      }
    }
    this.hooks.onRequest(req, res);
  }

  /** `res.end()` ran (next tick): settle it, then the next request once the body is read too. */
  responseDone(res: Http1Response): void {
    const ex = this.cur;
    if (!ex || ex.res !== res || ex.resDone) return;
    ex.resDone = true;
    res.settle(!this.socket.destroyed);
    if (!res.shouldKeepAlive) {
      this.close();
      return;
    }
    if (ex.bodyDone) this.exchangeDone(ex);
    // Else the rest of the body is read and dropped (the response did not need it).
    else if (!ex.req.readableEnded) ex.req.resume();
  }

  private exchangeDone(ex: Exchange): void {
    if (this.cur !== ex) return;
    this.cur = null;
    if (this.timeoutMs !== this.opts.idleTimeoutMs || this.timedOutInFlight) {
      this.timedOutInFlight = false;
      this.setSocketTimeout(this.opts.idleTimeoutMs);
    }
    if (this.readPaused) {
      this.readPaused = false;
      this.socket.resume();
    }
    this.next();
  }

  private bodyError(): void {
    // The response may have started: as node's server does, the connection just closes.
    this.closed = true;
    this.socket.destroy();
  }

  /** Answers a malformed request and closes (nothing in flight: heads are parsed only when idle). */
  private refuse(status: number, reason: string): void {
    this.closed = true;
    this.buf = null;
    this.hooks.onRefused(status, reason);
    if (!this.socket.writable) return void this.socket.destroy();
    this.socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
      'latin1',
    );
  }

  private handOff(rest: Buffer): void {
    this.closed = true;
    this.buf = null;
    const s = this.socket;
    s.pause();
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onClose);
    s.off('timeout', this.onTimeout);
    s.setTimeout(0);
    s.unshift(own(rest));
    this.handedOff = this.shared;
    this.hooks.handOff(s);
  }

  /** Graceful close after the last response (its bytes still go out). */
  private close(): void {
    this.closed = true;
    this.buf = null;
    if (!this.socket.destroyed) this.socket.end();
  }

  private peerEnded(): void {
    // The client half-closed: an exchange in flight is abandoned (node's server does the same).
    this.closed = true;
    this.socket.destroy();
  }

  /**
   * The stream idle timeout of the exchange in flight (`Http1Response.setTimeout`; 0 = none).
   * Requests are served one at a time, so the stream's bytes are the connection's: the socket's
   * inactivity timer runs with `ms` until the exchange ends, and calls `onIdle` instead of closing.
   */
  streamTimeout(res: Http1Response, ms: number, onIdle: () => void): void {
    const ex = this.cur;
    if (!ex || ex.res !== res || ex.resDone || this.closed) return;
    ex.onIdle = ms > 0 ? onIdle : null;
    // The usual case, the same value as the connection's: the running timer is kept (no new one).
    if (ms !== this.timeoutMs) this.setSocketTimeout(ms);
  }

  private setSocketTimeout(ms: number): void {
    this.timeoutMs = ms;
    if (!this.socket.destroyed) this.socket.setTimeout(ms);
  }

  /** No byte either way for the socket's inactivity window. */
  private idle(): void {
    const ex = this.cur;
    if (ex && !ex.resDone) {
      // A request in flight: its stream idle timeout decides (the connection's idle_timeout does
      // not apply while a stream is open, as in Envoy).
      this.timedOutInFlight = true;
      ex.onIdle?.();
      return;
    }
    // An idle keep-alive connection (idle_timeout), or the rest of a request body that stopped
    // arriving after its response ended.
    this.socket.destroy();
  }

  private socketClosed(): void {
    this.closed = true;
    const ex = this.cur;
    this.cur = null;
    if (ex && !ex.resDone) {
      ex.resDone = true;
      ex.res.settle(false);
    }
  }
}
