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

const TRACE_ID = /^([0-9a-f]{16}|[0-9a-f]{32})$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO = /^0+$/;

function first(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? undefined : s.trim().toLowerCase();
}

function sampling(value: string | undefined): { sampled?: boolean; debug?: boolean } {
  switch (value) {
    case '1':
    case 'true':
      return { sampled: true };
    case '0':
    case 'false':
      return { sampled: false };
    case 'd':
      return { sampled: true, debug: true };
    default:
      return {};
  }
}

const validTrace = (id: string | undefined): id is string => !!id && TRACE_ID.test(id) && !ZERO.test(id);
const validSpan = (id: string | undefined): id is string => !!id && SPAN_ID.test(id) && !ZERO.test(id);

/**
 * Reads B3 from request headers (names lower-case, as node:http gives them). A valid `b3` header
 * wins; an invalid one falls back to the `x-b3-*` headers. Invalid ids are ignored.
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
    if (parts.length === 1 && ['0', '1', 'd'].includes(parts[0])) return sampling(parts[0]);
    const [traceId, spanId, flag, parentSpanId] = parts;
    if (validTrace(traceId) && validSpan(spanId) && (parentSpanId === undefined || validSpan(parentSpanId))) {
      const s = sampling(flag);
      return { ...s, context: { traceId, spanId, ...(parentSpanId ? { parentSpanId } : {}), ...s } };
    }
  }
  const flags = first(headers, 'x-b3-flags') === '1';
  const s = sampling(first(headers, 'x-b3-sampled'));
  const decision = flags ? { sampled: true, debug: true } : s;
  const traceId = first(headers, 'x-b3-traceid');
  const spanId = first(headers, 'x-b3-spanid');
  const parentSpanId = first(headers, 'x-b3-parentspanid');
  if (validTrace(traceId) && validSpan(spanId)) {
    return {
      ...decision,
      context: { traceId, spanId, ...(validSpan(parentSpanId) ? { parentSpanId } : {}), ...decision },
    };
  }
  return decision;
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
    if (!ZERO.test(s)) return s;
  }
}

/** A new root context (128-bit trace id, like Envoy's Zipkin tracer with `trace_id_128bit`). */
export function rootContext(random: Random, sampled?: boolean, traceIdBytes = 16): TraceContext {
  return { traceId: randomHexId(random, traceIdBytes), spanId: randomHexId(random), sampled };
}

/** A child of `parent`: same trace, new span id, parent = the parent's span. */
export function childContext(parent: TraceContext, random: Random): TraceContext {
  return {
    traceId: parent.traceId,
    spanId: randomHexId(random),
    parentSpanId: parent.spanId,
    sampled: parent.sampled,
    ...(parent.debug ? { debug: true } : {}),
  };
}
