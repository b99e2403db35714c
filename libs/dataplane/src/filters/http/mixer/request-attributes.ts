/**
 * Istio's request attributes as the proxy fills them (istio/proxy
 * `control/http/attributes_builder.cc`): request.*, source/destination
 * ip/port/principal, connection.mtls, context.protocol, plus attributes forwarded
 * by the calling sidecar in `x-istio-attributes` (base64 istio.mixer.v1.Attributes).
 */
import {
  MutableBag,
  parseIp,
  SlotBag,
  type AttributeValue,
  type ReportEncoder,
  type SettableBag,
  type ValueType,
} from '@tsmesh/attributes';
import { decode, encode } from '@tsmesh/protocol';
import type { FieldError } from '@tsmesh/core';
import type { StreamInfo } from '../../../http/stream-info';
import type { DownstreamConnection, HttpStreamContext } from '../../types';
import { readAttributes } from './config';

export const FORWARD_HEADER = 'x-istio-attributes';

const principal = (id: string | undefined) => (id ? id.replace(/^spiffe:\/\//, '') : undefined);

export function headerMap(h: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in h) {
    const v = h[k];
    if (v === undefined) continue;
    out[k] = typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : String(v);
  }
  return out;
}

/** An IPv4-mapped IPv6 address as the IPv4 one. */
const unmapped = (a: string) => (a.startsWith('::ffff:') ? a.slice(7) : a);

// Callers send the same header value again and again: decode each distinct value once.
const forwardedCache = new Map<string, Readonly<Record<string, AttributeValue>>>();

export function forwardedAttributes(value: string): Readonly<Record<string, AttributeValue>> {
  let hit = forwardedCache.get(value);
  if (!hit) {
    hit = Object.freeze(decodeForwarded(value));
    if (forwardedCache.size >= 1000) forwardedCache.clear();
    forwardedCache.set(value, hit);
  }
  return hit;
}

function decodeForwarded(value: string): Record<string, AttributeValue> {
  try {
    const msg = decode<Record<string, unknown>>('istio.mixer.v1.Attributes', Buffer.from(value, 'base64'));
    const errors: FieldError[] = [];
    return readAttributes(msg, '', errors);
  } catch {
    return {};
  }
}

function toWire(v: AttributeValue): Record<string, unknown> {
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { int64_value: v } : { double_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  if (v instanceof Date)
    return { timestamp_value: { seconds: Math.floor(v.getTime() / 1000), nanos: (v.getTime() % 1000) * 1e6 } };
  if (v instanceof Uint8Array) return { bytes_value: Buffer.from(v) };
  return { string_map_value: { entries: v } };
}

export function encodeForwarded(attrs: Readonly<Record<string, AttributeValue>>): string {
  const attributes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs)) attributes[k] = toWire(v);
  return encode('istio.mixer.v1.Attributes', { attributes }).toString('base64');
}

type Statics = readonly Readonly<Record<string, AttributeValue>>[];

/** The static attributes of a request as one bag: those forwarded by the caller, then `statics` in order. */
export function staticLayer(forwarded: string, statics: Statics): MutableBag {
  const bag = new MutableBag();
  if (forwarded) {
    const attrs = forwardedAttributes(forwarded);
    for (const k in attrs) bag.set(k, attrs[k]);
  }
  for (const s of statics) for (const k in s) bag.set(k, s[k]);
  return bag;
}

/**
 * Which of the names a request adds only when its static attributes lack them (the static ones
 * win: the listener's, a caller's forwarded ones) the static attributes have.
 */
export interface BaseHas {
  readonly sourceIp: boolean;
  readonly sourcePort: boolean;
  readonly destinationIp: boolean;
  readonly destinationPort: boolean;
  /** destination.service.* are added from the upstream cluster only without it. */
  readonly destinationServiceHost: boolean;
}

function baseHasOf(bag: MutableBag): BaseHas {
  return {
    sourceIp: bag.has('source.ip'),
    sourcePort: bag.has('source.port'),
    destinationIp: bag.has('destination.ip'),
    destinationPort: bag.has('destination.port'),
    destinationServiceHost: bag.has('destination.service.host'),
  };
}

/** A request's static attributes, shared by many requests, and what a request's bag over it needs. */
export interface StaticLayer {
  readonly bag: MutableBag;
  readonly has: BaseHas;
  /** Whether it has a name a request adds without asking (then `addReport` builds a bag). */
  readonly hasAddedNames: boolean;
  /** The names and types of the Report entries over this layer, by `addReport`'s mask of what a request had. */
  readonly shapes: Map<number, EntryShape>;
}

/** The names and explicit types of the Report entries of one kind of request, shared by those entries. */
interface EntryShape {
  readonly keys: string[];
  readonly types: Array<ValueType | undefined>;
}

function staticLayerEntry(bag: MutableBag): StaticLayer {
  const has = baseHasOf(bag);
  return { bag, has, hasAddedNames: hasAddedNames(bag, has), shapes: new Map() };
}

/**
 * Static layers built once per distinct statics list (its identity) and forwarded header, so a
 * request's bag sits over a shared one instead of setting each static attribute again (and the
 * report encoder skips what a batch's entries share).
 */
export class StaticLayers {
  private readonly byStatics = new Map<Statics, Map<string, StaticLayer>>();
  get(forwarded: string, statics: Statics): MutableBag {
    return this.entry(forwarded, statics).bag;
  }
  /** The last answer: most requests of a listener come with the same statics and forwarded value. */
  private last: { forwarded: string; statics: Statics; layer: StaticLayer } | null = null;
  entry(forwarded: string, statics: Statics): StaticLayer {
    const last = this.last;
    // a string compare: a forwarded value (about 170 characters) read from a new request is not
    // hashed for a map lookup
    if (last !== null && last.statics === statics && last.forwarded === forwarded) return last.layer;
    let byFwd = this.byStatics.get(statics);
    if (!byFwd) {
      if (this.byStatics.size >= 1000) this.byStatics.clear();
      this.byStatics.set(statics, (byFwd = new Map()));
    }
    let layer = byFwd.get(forwarded);
    if (!layer) {
      // callers send the same few values; anything else is bounded
      if (byFwd.size >= 1000) byFwd.clear();
      byFwd.set(forwarded, (layer = staticLayerEntry(staticLayer(forwarded, statics))));
    }
    this.last = { forwarded, statics, layer };
    return layer;
  }
}

/**
 * What a request's attributes are made of, copied out of the stream when the mixer filter sees it:
 * strings, numbers and the connection's facts (fixed for the connection), never the stream itself.
 * With Check off the filter keeps only this during the request, and builds the Report's bag from
 * it when the stream completes (`bagOfRequest`, `addCompletionToRequestBag`).
 */
export class RequestFacts {
  constructor(
    /** The caller's `x-istio-attributes` value ('' when none). */
    readonly forwarded: string,
    /** The request headers as the filter saw them, pseudo-headers included (Istio's `request.headers`). */
    readonly headers: Record<string, string>,
    readonly host: string,
    readonly path: string,
    readonly method: string,
    readonly scheme: string,
    readonly grpc: boolean,
    readonly time: number,
    readonly connection: DownstreamConnection,
  ) {}
}

/**
 * The request's facts; takes the caller's `x-istio-attributes` header off the request (the
 * attributes it carries are this proxy's to report, not the upstream's to see). The header is set
 * to undefined rather than deleted: every codec and filter skips an undefined header, and a delete
 * would turn the header object into a slow dictionary-mode object for the rest of the request
 * (about 3 µs per request more for a copy and a few lookups of a 12-header object).
 */
export function requestFacts(ctx: HttpStreamContext, now: number): RequestFacts {
  const fwd = ctx.headers[FORWARD_HEADER];
  let forwarded = '';
  if (fwd !== undefined) {
    if (typeof fwd === 'string') forwarded = fwd;
    ctx.headers[FORWARD_HEADER] = undefined;
  }
  const headers = headerMap(ctx.headers);
  headers[':authority'] = ctx.authority;
  headers[':path'] = ctx.path;
  headers[':method'] = ctx.method;
  return new RequestFacts(
    forwarded,
    headers,
    ctx.authority,
    ctx.path,
    ctx.method,
    ctx.scheme,
    ctx.isGrpc,
    now,
    ctx.connection,
  );
}

/** The bag Check sees: static config attributes, forwarded ones, then what the request says. */
export function requestBag(ctx: HttpStreamContext, statics: Statics, now: number, layers?: StaticLayers): SlotBag {
  return bagOfRequest(requestFacts(ctx, now), statics, layers);
}

/**
 * `requestBag` from facts captured earlier. Each own name is set once, so they are added without
 * the check for an earlier value of the same name (`SlotBag.add`), and when the static layer
 * (shared, never changed) has none of them, without a look at the layer either.
 */
export function bagOfRequest(f: RequestFacts, statics: Statics, layers?: StaticLayers): SlotBag {
  if (!layers) {
    const base = staticLayer(f.forwarded, statics);
    return addRequest(new SlotBag(base), f, baseHasOf(base));
  }
  const layer = layers.entry(f.forwarded, statics);
  const bag = new SlotBag(layer.bag);
  if (!layer.hasAddedNames) bag.addsAreNew();
  return addRequest(bag, f, layer.has);
}

interface ClusterDestination {
  host: string;
  name?: string;
  namespace?: string;
  uid?: string;
}

// A proxy's requests go to a few clusters: parse each name once.
const clusterDestinations = new Map<string, ClusterDestination | null>();

/** `destination.service.*` of an outbound cluster name, or null when it is not one. */
function destinationOfCluster(cluster: string): ClusterDestination | null {
  let d = clusterDestinations.get(cluster);
  if (d === undefined) {
    d = parseClusterDestination(cluster);
    if (clusterDestinations.size >= 1000) clusterDestinations.clear();
    clusterDestinations.set(cluster, d);
  }
  return d;
}

function parseClusterDestination(cluster: string): ClusterDestination | null {
  const parts = cluster.split('|');
  if (parts.length !== 4 || parts[0] !== 'outbound' || !parts[3]) return null;
  const host = parts[3];
  const m = /^([^.]+)\.([^.]+)\.svc\./.exec(host);
  if (!m) return { host };
  return { host, name: m[1], namespace: m[2], uid: `istio://${m[2]}/services/${m[1]}` };
}

/**
 * `destination.service.*` of an outbound call from the cluster the router picked
 * (`outbound|9080|v1|reviews.default.svc.cluster.local`). Istio 1.0 Pilot put these in a per-route
 * ServiceConfig; without one the client-side Report would name no destination service.
 */
export function addDestinationFromCluster(bag: SettableBag, cluster: string | undefined): void {
  recording = true;
  writeDestination(cluster, bag.has('destination.service.host'), 0);
  recording = false;
  setWritten(bag);
}

/**
 * Adds what is known when the stream completed (Report). `responseHeaders`: the headers as the
 * mixer filter saw them (else the stream info's copy, kept when the listener has an access log).
 */
export function addResponseAttributes<B extends SettableBag>(
  bag: B,
  info: StreamInfo,
  now: number,
  responseHeaders?: Record<string, string>,
): B {
  return addCompletion(bag, completionFacts(info, now, responseHeaders));
}

/** What the stream info says when the stream completed, copied out of it (see `RequestFacts`). */
export class CompletionFacts {
  constructor(
    readonly upstreamCluster: string | undefined,
    readonly code: number,
    readonly duration: number,
    readonly time: number,
    readonly received: number,
    readonly sent: number,
    readonly responseHeaders: Record<string, string> | undefined,
    readonly grpcStatus: number | undefined,
    /** The response flags joined with ',', '' when none. */
    readonly flags: string,
  ) {}
}

export function completionFacts(
  info: StreamInfo,
  now: number,
  responseHeaders?: Record<string, string>,
): CompletionFacts {
  return new CompletionFacts(
    info.upstreamCluster,
    info.responseCode,
    info.duration,
    now,
    info.bytesReceived,
    info.bytesSent,
    responseHeaders ?? (info.responseHeaders ? headerMap(info.responseHeaders) : undefined),
    info.grpcStatus,
    info.responseFlags.length > 0 ? info.responseFlags.join(',') : '',
  );
}

/**
 * `addCompletion` for a bag fresh from `bagOfRequest` (none of these names set yet, so added with
 * `SlotBag.add`); the bytes a Report carries are the same.
 */
export function addCompletionToRequestBag(bag: SlotBag, f: CompletionFacts): SlotBag {
  recording = true;
  writeCompletion(f, bag.baseHas('destination.service.host'), 0);
  recording = false;
  return addWritten(bag);
}

/** `addResponseAttributes` from facts captured earlier. */
export function addCompletion<B extends SettableBag>(bag: B, f: CompletionFacts): B {
  recording = true;
  writeCompletion(f, bag.has('destination.service.host'), 0);
  recording = false;
  return setWritten(bag);
}

/** Where a request's Report entry goes (a report batch, or its encoder). */
export type ReportEntries = Pick<ReportEncoder, 'add' | 'addOwn'>;

/**
 * Adds the Report entry of a request with Check off to `entries`: the attributes
 * `addCompletionToRequestBag(bagOfRequest(...))` sets (the same writer), over the request's static
 * layer, without building that bag. Requests of one kind (same layer, same optional attributes
 * present) share one array of names and one of types, recorded for the first of them; the values
 * go into the scratch the encoder reads during the call (no array, bag or Date per request), and
 * the encoder finds the request for those names by their array.
 */
export function addReport(entries: ReportEntries, f: RequestFacts, done: CompletionFacts, layer: StaticLayer): void {
  if (layer.hasAddedNames) {
    entries.add(addCompletionToRequestBag(addRequest(new SlotBag(layer.bag), f, layer.has), done));
    return;
  }
  const mask = writeEntry(f, done, layer.has);
  let shape = layer.shapes.get(mask);
  if (shape === undefined) {
    recording = true;
    writeEntry(f, done, layer.has);
    recording = false;
    shape = { keys: scratchKeys.slice(0, written), types: scratchTypes.slice(0, written) };
    layer.shapes.set(mask, shape);
  }
  entries.addOwn(layer.bag, shape.keys, scratchVals, shape.types);
}

/** Adds the request's own attributes to `bag`, fresh over the static attributes `has` describes. */
function addRequest(bag: SlotBag, f: RequestFacts, has: BaseHas): SlotBag {
  recording = true;
  writeRequest(f, has);
  recording = false;
  return addWritten(bag);
}

// The scratch the writer below puts an entry into: its values (those past `written` are a longer
// entry's, never read) and, while `recording`, their names and explicit types. One entry at a
// time: each writer's output is read before the next one runs (all of it synchronous).
const scratchVals: AttributeValue[] = [];
const scratchKeys: string[] = [];
const scratchTypes: Array<ValueType | undefined> = [];
let recording = false;
/** The end of what the writer put last. */
let written = 0;

function put(i: number, name: string, value: AttributeValue, type?: ValueType): number {
  scratchVals[i] = value;
  if (recording) {
    scratchKeys[i] = name;
    scratchTypes[i] = type;
  }
  return i + 1;
}

/** Adds the recorded entry to `bag`, which has set none of its names (`SlotBag.add`). */
function addWritten(bag: SlotBag): SlotBag {
  for (let i = 0; i < written; i++) bag.add(scratchKeys[i], scratchVals[i], scratchTypes[i]);
  return bag;
}

/** Sets the recorded entry's attributes on `bag`. */
function setWritten<B extends SettableBag>(bag: B): B {
  for (let i = 0; i < written; i++) bag.set(scratchKeys[i], scratchVals[i], scratchTypes[i]);
  return bag;
}

/*
 * The writer: the one list of the attributes a request's Check bag, its Report bag and its Report
 * entry without a bag carry (names, order, conditions, types), in three parts a Check bag gets at
 * two times. Each part puts its attributes into the scratch from slot `from` (the request's from
 * 0), leaves their end in `written`, and returns the bits of the optional attributes present:
 * with what the static attributes have, the names and types follow from them. Times are
 * milliseconds with the type the manifest gives them (a Date's bytes, without a Date per request).
 */

/** The request's own attributes (mask bits 1 to 128). */
function writeRequest(f: RequestFacts, has: BaseHas): number {
  const headers = f.headers;
  let mask = 0;
  let n = put(0, 'request.headers', headers);
  n = put(n, 'request.host', f.host);
  n = put(n, 'request.path', f.path);
  n = put(n, 'request.method', f.method);
  n = put(n, 'request.scheme', f.scheme);
  n = put(n, 'request.time', f.time, 'TIMESTAMP');
  const ua = headers['user-agent'];
  if (ua) {
    n = put(n, 'request.useragent', ua);
    mask |= 1;
  }
  const referer = headers['referer'];
  if (referer) {
    n = put(n, 'request.referer', referer);
    mask |= 2;
  }
  const id = headers['x-request-id'];
  if (id) {
    n = put(n, 'request.id', id);
    mask |= 4;
  }
  n = put(n, 'context.protocol', f.grpc ? 'grpc' : 'http');
  const c = f.connection;
  const sip = has.sourceIp ? null : parseIp(unmapped(c.remoteAddress));
  if (sip) {
    n = put(n, 'source.ip', sip);
    mask |= 8;
  }
  if (!has.sourcePort) n = put(n, 'source.port', c.remotePort, 'INT64');
  const dip = has.destinationIp ? null : parseIp(unmapped(c.localAddress));
  if (dip) {
    n = put(n, 'destination.ip', dip);
    mask |= 16;
  }
  if (!has.destinationPort) n = put(n, 'destination.port', c.localPort);
  n = put(n, 'connection.mtls', c.tls && !!c.peerIdentity);
  const sp = principal(c.peerIdentity);
  if (sp) {
    n = put(n, 'source.principal', sp);
    n = put(n, 'source.user', sp);
    mask |= 32;
  }
  const dp = principal(c.localIdentity);
  if (dp) {
    n = put(n, 'destination.principal', dp);
    mask |= 64;
  }
  if (c.sni) {
    n = put(n, 'connection.requested_server_name', c.sni);
    mask |= 128;
  }
  written = n;
  return mask;
}

/** `destination.service.*` of the upstream cluster, unless the bag has them (`known`) (mask bits 256, 512). */
function writeDestination(cluster: string | undefined, known: boolean, from: number): number {
  const d = cluster && !known ? destinationOfCluster(cluster) : null;
  let mask = 0;
  let n = from;
  if (d) {
    n = put(n, 'destination.service.host', d.host);
    mask |= 256;
    if (d.name !== undefined) {
      n = put(n, 'destination.service.name', d.name);
      n = put(n, 'destination.service.namespace', d.namespace as string);
      n = put(n, 'destination.service.uid', d.uid as string);
      mask |= 512;
    }
  }
  written = n;
  return mask;
}

/** What the stream info said when the stream completed (mask bits 1024 to 4096). */
function writeResponse(done: CompletionFacts, from: number): number {
  let mask = 0;
  let n = put(from, 'response.code', done.code);
  n = put(n, 'response.duration', done.duration, 'DURATION');
  n = put(n, 'response.time', done.time, 'TIMESTAMP');
  n = put(n, 'request.size', done.received);
  n = put(n, 'request.total_size', done.received);
  n = put(n, 'response.size', done.sent);
  n = put(n, 'response.total_size', done.sent);
  if (done.responseHeaders) {
    n = put(n, 'response.headers', done.responseHeaders);
    mask |= 1024;
  }
  if (done.grpcStatus !== undefined) {
    n = put(n, 'response.grpc_status', String(done.grpcStatus));
    mask |= 2048;
  }
  if (done.flags) {
    n = put(n, 'context.proxy_error_code', done.flags);
    mask |= 4096;
  }
  written = n;
  return mask;
}

/** What is known when the stream completed: the destination service, then the response. */
function writeCompletion(done: CompletionFacts, serviceKnown: boolean, from: number): number {
  const destination = writeDestination(done.upstreamCluster, serviceKnown, from);
  return destination | writeResponse(done, written);
}

/** A Report entry: the request's attributes, then its completion's. */
function writeEntry(f: RequestFacts, done: CompletionFacts, has: BaseHas): number {
  const request = writeRequest(f, has);
  return request | writeCompletion(done, has.destinationServiceHost, written);
}

/**
 * A request and its completion with every optional attribute present (their values never read):
 * the writer puts every name it can for them. A new optional attribute needs its fact here too
 * (request-attributes.test.ts sets each name a request has in a static layer, and fails without).
 */
const EVERY_REQUEST = new RequestFacts(
  '',
  { 'user-agent': '-', referer: '-', 'x-request-id': '-' },
  '',
  '',
  '',
  '',
  false,
  0,
  {
    remoteAddress: '127.0.0.1',
    remotePort: 0,
    localAddress: '127.0.0.1',
    localPort: 0,
    tls: true,
    peerIdentity: '-',
    localIdentity: '-',
    sni: '-',
    getPeerIdentity: () => undefined,
  },
);
const EVERY_COMPLETION = new CompletionFacts('outbound|0||every.optional.svc.', 0, 0, 0, 0, 0, {}, 0, '-');

/**
 * Whether a static layer (never changed) has a name the writer adds without asking it (those it
 * asks about `has` are added only when it lacks them). Then a request's bag over it sets a name of
 * the layer again, and `SlotBag.add` must look each name up in it.
 */
function hasAddedNames(layer: MutableBag, has: BaseHas): boolean {
  recording = true;
  writeEntry(EVERY_REQUEST, EVERY_COMPLETION, has);
  recording = false;
  for (let i = 0; i < written; i++) if (layer.has(scratchKeys[i])) return true;
  return false;
}
