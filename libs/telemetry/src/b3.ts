/**
 * B3 trace context (openzipkin/b3-propagation): the multi-header form
 * (`x-b3-traceid`, `x-b3-spanid`, `x-b3-parentspanid`, `x-b3-sampled`,
 * `x-b3-flags`) and the single `b3` header
 * (`{traceid}-{spanid}[-{sampling}[-{parentspanid}]]` or just `{sampling}`).
 */
import { randomFillSync } from 'node:crypto';
import { systemRandom, type Random } from '@tsmesh/core';

export interface TraceContext {
  /** 16 or 32 lower-case hex characters. */
  traceId: string;
  /** 16 lower-case hex characters. */
  spanId: string;
  parentSpanId?: string;
  /** Undefined means "not decided yet" (the receiver samples). */
  sampled?: boolean;
  /** `x-b3-flags: 1` / `b3: …-d`: force sampling. */
  debug?: boolean;
}

/** What a request carried: a full context, or only a sampling decision. */
export interface IncomingB3 {
  context?: TraceContext;
  sampled?: boolean;
  debug?: boolean;
}

export type HeaderBag = Record<string, string | string[] | undefined>;

export const B3_HEADERS = ['x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags', 'b3'];

/** A header's (first) value, trimmed; undefined when absent. */
function first(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  const s = typeof v === 'string' ? v : Array.isArray(v) ? v[0] : String(v);
  return s === undefined ? undefined : s.trim();
}

/** A sampling decision (`1`/`true`, `0`/`false`, `d`), case-insensitive; undefined otherwise. */
function decision(value: string | undefined): 0 | 1 | 2 | undefined {
  switch (value) {
    case '1':
    case 'true':
      return 1;
    case '0':
    case 'false':
      return 0;
    case 'd':
      return 2;
    case undefined:
      return undefined;
    default: {
      const lower = value.toLowerCase();
      return lower === value ? undefined : decision(lower);
    }
  }
}

/**
 * `s` as a lower-case hex id of 16 characters (or 32 when `trace`), not all zeros; undefined when
 * it is not one. A character loop instead of regular expressions: a request from another sidecar
 * carries three ids, and this is on every request's path.
 */
function hexId(s: string | undefined, trace: boolean): string | undefined {
  if (s === undefined) return undefined;
  const n = s.length;
  if (n !== 16 && !(trace && n === 32)) return undefined;
  let zero = true;
  let upper = false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 48) continue;
    zero = false;
    if ((c > 48 && c <= 57) || (c >= 97 && c <= 102)) continue;
    if (c >= 65 && c <= 70) upper = true;
    else return undefined;
  }
  if (zero) return undefined;
  return upper ? s.toLowerCase() : s;
}

/** The incoming B3 result for a decision and an optional context (which carries the same decision). */
function incomingOf(d: 0 | 1 | 2 | undefined, traceId?: string, spanId?: string, parentSpanId?: string): IncomingB3 {
  const out: IncomingB3 = {};
  if (d !== undefined) out.sampled = d !== 0;
  if (d === 2) out.debug = true;
  if (traceId !== undefined && spanId !== undefined) {
    const context: TraceContext = { traceId, spanId };
    if (parentSpanId !== undefined) context.parentSpanId = parentSpanId;
    if (d !== undefined) context.sampled = d !== 0;
    if (d === 2) context.debug = true;
    out.context = context;
  }
  return out;
}

/**
 * Reads B3 from request headers (names lower-case, as node:http gives them). A valid `b3` header
 * wins; an invalid one falls back to the `x-b3-*` headers. Invalid ids are ignored. Values are
 * trimmed and case-insensitive (ids come out lower-case).
 */
export function parseB3(headers: HeaderBag): IncomingB3 {
  if (
    headers['b3'] === undefined &&
    headers['x-b3-traceid'] === undefined &&
    headers['x-b3-sampled'] === undefined &&
    headers['x-b3-flags'] === undefined
  ) {
    return {};
  }
  const single = first(headers, 'b3');
  if (single !== undefined) {
    const parts = single.split('-');
    if (parts.length === 1) {
      const d = decision(parts[0]);
      // Only `0`, `1` and `d` are valid alone (not `true`/`false`).
      if (d !== undefined && parts[0].length === 1) return incomingOf(d);
    }
    const traceId = hexId(parts[0], true);
    const spanId = hexId(parts[1], false);
    const parentSpanId = hexId(parts[3], false);
    if (traceId !== undefined && spanId !== undefined && (parts[3] === undefined || parentSpanId !== undefined)) {
      return incomingOf(decision(parts[2]), traceId, spanId, parentSpanId);
    }
  }
  const d = first(headers, 'x-b3-flags') === '1' ? 2 : decision(first(headers, 'x-b3-sampled'));
  const traceId = hexId(first(headers, 'x-b3-traceid'), true);
  const spanId = hexId(first(headers, 'x-b3-spanid'), false);
  if (traceId !== undefined && spanId !== undefined) {
    return incomingOf(d, traceId, spanId, hexId(first(headers, 'x-b3-parentspanid'), false));
  }
  return incomingOf(d);
}

/** The multi-header form, to put on a forwarded request. */
export function formatB3Headers(ctx: TraceContext): Record<string, string> {
  const out: Record<string, string> = { 'x-b3-traceid': ctx.traceId, 'x-b3-spanid': ctx.spanId };
  if (ctx.parentSpanId) out['x-b3-parentspanid'] = ctx.parentSpanId;
  if (ctx.debug) out['x-b3-flags'] = '1';
  else if (ctx.sampled !== undefined) out['x-b3-sampled'] = ctx.sampled ? '1' : '0';
  return out;
}

/**
 * Puts `ctx` on request headers in the multi-header form, replacing whatever B3 headers (single
 * or multi) they carried: the same result as deleting B3_HEADERS and assigning
 * formatB3Headers(ctx), but headers that get a new value are overwritten rather than deleted and
 * re-added (deleting properties turns the header object into a slow dictionary).
 */
export function writeB3Headers(headers: Record<string, unknown>, ctx: TraceContext): void {
  headers['x-b3-traceid'] = ctx.traceId;
  headers['x-b3-spanid'] = ctx.spanId;
  if (ctx.parentSpanId) headers['x-b3-parentspanid'] = ctx.parentSpanId;
  else if (headers['x-b3-parentspanid'] !== undefined) delete headers['x-b3-parentspanid'];
  if (ctx.debug) {
    headers['x-b3-flags'] = '1';
    if (headers['x-b3-sampled'] !== undefined) delete headers['x-b3-sampled'];
  } else {
    if (ctx.sampled !== undefined) headers['x-b3-sampled'] = ctx.sampled ? '1' : '0';
    else if (headers['x-b3-sampled'] !== undefined) delete headers['x-b3-sampled'];
    if (headers['x-b3-flags'] !== undefined) delete headers['x-b3-flags'];
  }
  if (headers['b3'] !== undefined) delete headers['b3'];
}

/** The single `b3` header value. */
export function formatB3Single(ctx: TraceContext): string {
  const flag = ctx.debug ? 'd' : ctx.sampled === undefined ? '' : ctx.sampled ? '1' : '0';
  let out = `${ctx.traceId}-${ctx.spanId}`;
  if (flag || ctx.parentSpanId) out += `-${flag}`;
  if (ctx.parentSpanId) out += `-${ctx.parentSpanId}`;
  return out;
}

/** Random bytes fetched 4 KiB at a time (one getrandom call per 256 span ids). */
const POOL = Buffer.allocUnsafe(4096);
let poolOffset = POOL.length;

function pooledHex(bytes: number): string {
  if (poolOffset + bytes > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const s = POOL.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return s;
}

const ZEROS = '0'.repeat(64);

/**
 * `bytes` (a multiple of 4) random bytes as lower-case hex, never all zeros. With the system
 * source the bytes come from a crypto pool (hex encoded natively); an injected Random (tests,
 * simulations) gives 32 bits per draw, so ids stay reproducible.
 */
export function randomHexId(random: Random, bytes = 8): string {
  for (;;) {
    let s = '';
    if (random === systemRandom) s = pooledHex(bytes);
    else {
      for (let i = 0; i < bytes; i += 4) {
        s += Math.floor(random.next() * 0x100000000)
          .toString(16)
          .padStart(8, '0');
      }
    }
    if (!ZEROS.startsWith(s)) return s;
  }
}

/**
 * A new root context (128-bit trace id, like Envoy's Zipkin tracer with `trace_id_128bit`). With
 * the system source both ids come from one hex encoding of the pool (one native call, not two).
 */
export function rootContext(random: Random, sampled?: boolean, traceIdBytes = 16): TraceContext {
  if (random === systemRandom) {
    const hex = pooledHex(traceIdBytes + 8);
    const traceId = hex.slice(0, traceIdBytes * 2);
    const spanId = hex.slice(traceIdBytes * 2);
    if (!ZEROS.startsWith(traceId) && !ZEROS.startsWith(spanId)) return { traceId, spanId, sampled };
  }
  return { traceId: randomHexId(random, traceIdBytes), spanId: randomHexId(random), sampled };
}

/** A child of `parent`: same trace, new span id, parent = the parent's span. */
export function childContext(parent: TraceContext, random: Random): TraceContext {
  const ctx: TraceContext = {
    traceId: parent.traceId,
    spanId: randomHexId(random),
    parentSpanId: parent.spanId,
    sampled: parent.sampled,
  };
  if (parent.debug) ctx.debug = true;
  return ctx;
}
