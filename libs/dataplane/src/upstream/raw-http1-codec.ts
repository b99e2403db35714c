/**
 * HTTP/1.1 pieces of the raw upstream client: request-head serialization, response header
 * parsing (strict: token names, no CR/LF/NUL in values, no conflicting Content-Length) and the
 * response body stream handed to the router.
 */
import { EventEmitter } from 'node:events';
import type { RequestHead } from './pool';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;

export type Headers = Record<string, string | string[] | undefined>;

/** Bytes a body queues while nobody reads it before `push` asks the producer to pause. */
const HIGH_WATER = 64 * 1024;

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
  trailers: Headers = {};
  constructor(private readonly onPause: (paused: boolean) => void) {
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
    this.onPause(true);
    return this;
  }
  resume(): this {
    this.flowing = true;
    this.onPause(false);
    queueMicrotask(() => this.flush());
    return this;
  }
  destroy(): this {
    this.done = true;
    this.queue = [];
    this.queued = 0;
    this.onPause(false);
    return this;
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
    }
  }
}

export function parseHeaderLines(lines: string[], from: number): Headers {
  const out: Headers = {};
  for (let i = from; i < lines.length; i++) {
    const line = lines[i];
    const c = line.indexOf(':');
    if (c <= 0) throw new Error('bad header line');
    const name = line.slice(0, c).toLowerCase();
    if (!TOKEN.test(name)) throw new Error('bad header name');
    const value = line.slice(c + 1).trim();
    if (BAD_VALUE.test(value)) throw new Error('bad header value');
    const cur = out[name];
    if (cur === undefined) out[name] = value;
    else if (name === 'set-cookie') out[name] = Array.isArray(cur) ? [...cur, value] : [cur, value];
    else if (name === 'content-length') {
      if (cur !== value) throw new Error('conflicting content-length');
    } else out[name] = `${cur}, ${value}`;
  }
  return out;
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
