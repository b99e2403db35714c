/**
 * HTTP/1.1 pieces of the raw upstream client: request-head serialization, response header
 * parsing (strict: token names, no CR/LF/NUL in values, no conflicting Content-Length) and the
 * response body stream handed to the router.
 */
import { EventEmitter } from 'node:events';
import { fieldName, fieldValue } from '../http1/header-chars';
import type { RequestHead } from './pool';

export type Headers = Record<string, string | string[] | undefined>;

/** The trailers of a body that has none (never modified: a parser assigns a new object). */
const NO_TRAILERS: Headers = Object.freeze({});

/** Bytes a body queues while nobody reads it before `push` asks the producer to pause. */
const HIGH_WATER = 64 * 1024;

/** Who produces a body's bytes: told to stop and restart reading (not a closure per body). */
export interface BodySource {
  bodyPaused(body: RawBody, paused: boolean): void;
}

/**
 * A message body as the router consumes it: data/end/error events, pause/resume, destroy. Used
 * for upstream responses and, by the downstream HTTP/1.1 codec, for request bodies.
 */
export class RawBody extends EventEmitter {
  private queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private flowing = false;
  private done = false;
  private endEmitted = false;
  /** The source was asked to stop reading and not yet to restart. */
  private sourcePaused = false;
  /** Trailer fields of a chunked body (the shared empty set until a parser assigns its own). */
  trailers: Headers = NO_TRAILERS;
  private endCb: ((trailers: Headers) => void) | null = null;
  constructor(private readonly source: BodySource) {
    super();
  }
  /** 'end' was emitted (node's `readable.readableEnded`). */
  get readableEnded(): boolean {
    return this.endEmitted;
  }
  // The listener signature is EventEmitter's own (a 'data' listener takes a Buffer).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override on(event: string | symbol, fn: (...args: any[]) => void): this {
    super.on(event, fn);
    if (event === 'data' && !this.flowing) this.resume();
    return this;
  }
  /** Hands on a chunk; false when the producer should stop reading until resumed. */
  push(chunk: Buffer): boolean {
    if (this.done) return true;
    if (this.flowing && this.queue.length === 0) {
      this.emit('data', chunk);
      return true;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    return this.flowing || this.queued < HIGH_WATER;
  }
  finish(): void {
    this.ended = true;
    if (this.flowing) this.flush();
  }
  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.emit('error', err);
  }
  pause(): this {
    this.flowing = false;
    this.sourcePaused = true;
    this.source.bodyPaused(this, true);
    return this;
  }
  resume(): this {
    this.flowing = true;
    // The source reads unless it was told otherwise (by pause() or by push() returning false,
    // after which the producer stopped on its own): only then is it told to restart.
    this.restartSource();
    // Queued bytes or a pending end go out after the caller has set up its listeners.
    if (this.queue.length || this.ended) queueMicrotask(() => this.flush());
    return this;
  }
  destroy(): this {
    this.done = true;
    this.queue = [];
    this.queued = 0;
    this.restartSource();
    return this;
  }
  /** Calls back once with the trailers after 'end' (what `once('end')` does, without closures). */
  whenEnded(cb: (trailers: Headers) => void): void {
    this.endCb = cb;
  }
  private restartSource(): void {
    if (this.sourcePaused || this.queued >= HIGH_WATER) {
      this.sourcePaused = false;
      this.source.bodyPaused(this, false);
    }
  }
  private flush(): void {
    while (this.flowing && this.queue.length) {
      const c = this.queue.shift() as Buffer;
      this.queued -= c.length;
      this.emit('data', c);
    }
    if (this.flowing && this.ended && this.queue.length === 0 && !this.done) {
      this.done = true;
      this.endEmitted = true;
      this.emit('end');
      const cb = this.endCb;
      this.endCb = null;
      cb?.(this.trailers);
    }
  }
}

/**
 * Header fields from `text` (CRLF-separated lines, no final empty line) starting at offset `from`:
 * lower-case names, repeated fields joined with `, ` (`set-cookie` kept apart), conflicting
 * Content-Length refused.
 */
export function parseHeaderBlock(text: string, from: number): Headers {
  const out: Headers = {};
  let pos = from;
  const len = text.length;
  while (pos < len) {
    let end = text.indexOf('\r\n', pos);
    if (end < 0) end = len;
    const c = text.indexOf(':', pos);
    if (c <= pos || c >= end) throw new Error('bad header line');
    const name = fieldName(text, pos, c);
    if (name === null) throw new Error('bad header name');
    let value = fieldValue(text, c + 1, end);
    if (value === null) throw new Error('bad header value');
    // Other white space String.prototype.trim drops (VT, FF, NBSP) is dropped too, as before.
    if (value.length > 0 && (isOtherSpace(value.charCodeAt(0)) || isOtherSpace(value.charCodeAt(value.length - 1))))
      value = value.trim();
    pos = end + 2;
    const cur = out[name];
    if (cur === undefined) out[name] = value;
    else if (name === 'set-cookie') out[name] = Array.isArray(cur) ? [...cur, value] : [cur, value];
    else if (name === 'content-length') {
      if (cur !== value) throw new Error('conflicting content-length');
    } else out[name] = `${cur}, ${value}`;
  }
  return out;
}

/** White space other than SP / HTAB that `trim()` removes from a latin1 value. */
function isOtherSpace(ch: number): boolean {
  return ch === 0x0b || ch === 0x0c || ch === 0xa0;
}

/**
 * The status line `HTTP/1.x SP 3DIGIT [SP reason]` at the start of `text` (ending at `end`):
 * minor version * 1000 + status code, or -1 when malformed (a reason phrase may not hold CR or LF).
 */
export function parseStatusLine(text: string, end: number): number {
  if (end < 12 || !text.startsWith('HTTP/1.') || text.charCodeAt(8) !== 32) return -1;
  const minor = text.charCodeAt(7) - 48;
  if (minor !== 0 && minor !== 1) return -1;
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    status = status * 10 + d;
  }
  if (end > 12) {
    if (text.charCodeAt(12) !== 32) return -1;
    for (let i = 13; i < end; i++) {
      const ch = text.charCodeAt(i);
      if (ch === 13 || ch === 10 || ch === 0x2028 || ch === 0x2029) return -1;
    }
  }
  return minor * 1000 + status;
}

/** Request line, `host` and headers as one latin1 string (one socket write). */
export function serializeHead(h: RequestHead, chunked: boolean): string {
  let s = `${h.method} ${h.path} HTTP/1.1\r\nhost: ${h.authority}\r\n`;
  const hs = h.headers;
  for (const k in hs) {
    const v = hs[k];
    if (v === undefined || k === 'host') continue;
    if (Array.isArray(v)) for (const x of v) s += `${k}: ${x}\r\n`;
    else s += `${k}: ${v}\r\n`;
  }
  if (chunked) s += 'transfer-encoding: chunked\r\n';
  return s + '\r\n';
}
