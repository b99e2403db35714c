/**
 * One request through the connection manager: checks, normalization, route selection, the filter
 * chain, then the router; every local reply and the stream-complete bookkeeping happen here.
 */
import type { DownstreamConnection, HttpFilter, HttpStreamContext, LocalReply } from '../filters/types';
import type { ConnectionManager, DownstreamRequest, DownstreamResponse } from './connection-manager';
import type { HeaderMap } from './header-ops';
import { httpToGrpcStatus } from './local-reply';
import { normalizePath } from './path';
import { requestId } from './request-id';
import type { RouteEntry, RouteRequest } from './route-table';
import { Router } from './router';
import { bodyFraming } from './router-request';
import type { ResponseFlag, StreamInfo } from './stream-info';

/** Connection-specific headers never forwarded (RFC 9110 §7.6.1, plus HTTP/2's ban list). */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'transfer-encoding',
  'upgrade',
  'te',
  'http2-settings',
  'host',
  // Expect: 100-continue is answered by this hop (node's server), not forwarded.
  'expect',
]);

const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const AUTHORITY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]+$/;

/** Never modified: a stream with filters gets an array of its own. */
const NO_FILTERS: HttpFilter[] = [];

/** Router control headers an untrusted client may not set (Envoy strips all `x-envoy-*`). */
const INTERNAL_PREFIX = 'x-envoy-';

/** What route matching reads of a stream (a class: no closure per request). */
class StreamRouteRequest implements RouteRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly authority: string;
  readonly scheme: string;
  constructor(private readonly s: ActiveStream) {
    this.method = s.method;
    this.path = s.pathOnly;
    this.query = s.query;
    this.authority = s.authority;
    this.scheme = s.scheme;
  }
  header(n: string): string | undefined {
    const s = this.s;
    if (n.charCodeAt(0) === 58 /* : */) {
      if (n === ':method') return s.method;
      if (n === ':path') return s.path;
      if (n === ':authority') return s.authority;
      if (n === ':scheme') return s.scheme;
      return undefined;
    }
    const v = s.headers[n];
    return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : String(v);
  }
}

export class ActiveStream implements HttpStreamContext {
  method: string;
  scheme: string;
  authority = '';
  path = '/';
  pathOnly = '/';
  query = '';
  headers: HeaderMap = {};
  route: RouteEntry | null = null;
  readonly info: StreamInfo;
  readonly isGrpc: boolean;
  readonly trusted: boolean;
  /** This request's filter instances (the shared empty list when the chain has none). */
  filters: HttpFilter[] = NO_FILTERS;
  router: Router | null = null;
  responseStarted = false;
  private done = false;
  private routeCleared = false;

  constructor(
    readonly cm: ConnectionManager,
    readonly req: DownstreamRequest,
    readonly res: DownstreamResponse,
    readonly connection: DownstreamConnection,
  ) {
    const clock = cm.runtime.clock;
    this.method = req.method ?? 'GET';
    this.scheme = connection.tls ? 'https' : 'http';
    const ct = req.headers['content-type'];
    this.isGrpc = typeof ct === 'string' && ct.startsWith('application/grpc');
    const s = cm.settings;
    this.trusted =
      !s.useRemoteAddress || s.internalAddresses.some((p) => p !== '' && connection.remoteAddress.startsWith(p));
    // The nested list and map are made apart: a literal holding literals is copied by V8's
    // runtime (deep copy) instead of its fast shallow clone.
    const responseFlags: ResponseFlag[] = [];
    const dynamicMetadata: StreamInfo['dynamicMetadata'] = {};
    this.info = {
      startTime: clock.now(),
      startMono: clock.monotonic(),
      duration: 0,
      protocol: req.httpVersionMajor === 2 ? 'HTTP/2' : req.httpVersionMinor === 0 ? 'HTTP/1.0' : 'HTTP/1.1',
      method: this.method,
      path: '',
      authority: '',
      scheme: this.scheme,
      requestId: '',
      requestHeaders: this.headers,
      responseCode: 0,
      responseFlags,
      bytesReceived: 0,
      bytesSent: 0,
      attemptCount: 0,
      downstreamRemoteAddress: `${connection.remoteAddress}:${connection.remotePort}`,
      downstreamLocalAddress: `${connection.localAddress}:${connection.localPort}`,
      peerIdentity: connection.peerIdentity,
      localIdentity: connection.localIdentity,
      listenerName: cm.listenerName,
      statPrefix: s.statPrefix,
      dynamicMetadata,
    };
  }

  perRouteConfig<T>(filterName: string): T | undefined {
    return this.route?.perFilter.get(filterName) as T | undefined;
  }

  setResponseFlag(flag: ResponseFlag): void {
    if (!this.info.responseFlags.includes(flag)) this.info.responseFlags.push(flag);
  }

  clearRouteCache(): void {
    this.routeCleared = true;
  }

  private routeRequest(): RouteEntry | null {
    const table = this.cm.routes();
    if (!table) return null;
    return table.route(new StreamRouteRequest(this));
  }

  start(): void {
    const { cm, req, res } = this;
    const st = cm.stats;
    const s = cm.settings;
    st.rqTotal.inc();
    st.rqActive.inc();
    if (this.info.protocol === 'HTTP/2') st.rqHttp2.inc();
    else st.rqHttp1.inc();
    // 'close' comes once per response ('on': no once-wrapper and no listener removal per request).
    res.on('close', () => this.onClose());
    if (s.requestTimeoutMs > 0 && !req.readableEnded) this.armRequestTimeout(s.requestTimeoutMs);

    const raw = req.rawHeaders;
    const count = req.headerCount ?? (raw ? raw.length / 2 : 0);
    if (count > s.maxHeadersCount) return this.badRequest(431, 'too many headers');
    if (this.info.protocol === 'HTTP/2' && raw) {
      let size = 0;
      for (let i = 0; i < raw.length; i++) size += raw[i].length;
      if (size > s.maxRequestHeadersBytes) return this.badRequest(431, 'headers too large');
    }
    let target = req.url ?? '/';
    let authority: string | undefined;
    if (this.info.protocol === 'HTTP/2') {
      authority = (req as { authority?: string }).authority ?? (req.headers['host'] as string | undefined);
    } else {
      if (target.charCodeAt(0) !== 47 /* / */) {
        // Absolute-form (an app using the sidecar as its HTTP proxy): the URI names the authority.
        const m = /^(https?):\/\/([^/?#]+)(.*)$/i.exec(target);
        if (!m) return this.badRequest(400, 'invalid request target');
        authority = m[2];
        target = m[3] || '/';
      } else {
        authority = req.headers['host'] as string | undefined;
      }
      if (!authority && this.info.protocol === 'HTTP/1.1') return this.badRequest(400, 'missing host header');
    }
    this.authority = authority ?? '';
    // Method and authority are re-serialized upstream: only RFC 9110 tokens / host characters
    // (an HTTP/2 `:method: GET /admin` must not become a second HTTP/1 request line).
    if (!METHOD_TOKEN.test(this.method)) return this.badRequest(400, 'invalid method');
    if (this.authority && !AUTHORITY_CHARS.test(this.authority)) return this.badRequest(400, 'invalid authority');
    const np = normalizePath(target, s.path);
    if (!np.ok) return this.badRequest(400, np.reason);
    this.pathOnly = np.path;
    this.query = np.query;
    this.path = np.query ? `${np.path}?${np.query}` : np.path;
    if (np.redirect) return this.localReply({ status: 307, headers: { location: this.path }, body: '' });

    const headers = this.headers;
    const src = req.headers;
    const trusted = this.trusted;
    for (const k in src) {
      if (k.charCodeAt(0) === 58 || HOP_BY_HOP.has(k)) continue;
      if (!trusted && k.startsWith(INTERNAL_PREFIX)) continue;
      if (s.rejectUnderscoreHeaders && k.includes('_')) return this.badRequest(400, 'header name with underscore');
      headers[k] = src[k];
    }
    if (src['te'] === 'trailers') headers['te'] = 'trailers';
    let rid = headers['x-request-id'];
    if ((rid === undefined || !trusted) && s.generateRequestId) headers['x-request-id'] = rid = requestId();
    this.info.requestId = typeof rid === 'string' ? rid : '';
    if (s.useRemoteAddress && !s.skipXffAppend) {
      const xff = headers['x-forwarded-for'];
      headers['x-forwarded-for'] =
        trusted && xff ? `${xff},${this.connection.remoteAddress}` : this.connection.remoteAddress;
      if (!trusted) headers['x-envoy-external-address'] = this.connection.remoteAddress;
    }
    if (!trusted || headers['x-forwarded-proto'] === undefined) headers['x-forwarded-proto'] = this.scheme;
    this.applyClientCertHeader();
    this.info.path = this.path;
    this.info.authority = this.authority;

    this.route = this.routeRequest();
    // The stream idle timer starts once the route is known: a route's idle_timeout replaces the
    // HCM's. Also set when 0 (none): that stops an HTTP/1 socket's inactivity timer, since the
    // connection's idle_timeout does not apply while a request is in flight.
    res.setTimeout(this.route?.idleTimeoutMs ?? s.streamIdleTimeoutMs, () => this.onStreamIdle());
    const factories = cm.filterFactories;
    if (factories.length) {
      this.filters = new Array(factories.length);
      for (let i = 0; i < factories.length; i++) this.filters[i] = factories[i].make();
    }
    this.runFilters(0);
  }

  private applyClientCertHeader(): void {
    const mode = this.cm.settings.forwardClientCert;
    const peer = this.connection.peerIdentity;
    if (
      (mode === 'SANITIZE' || (mode === 'SANITIZE_SET' && !peer)) &&
      this.headers['x-forwarded-client-cert'] !== undefined
    ) {
      delete this.headers['x-forwarded-client-cert'];
    }
    if (peer && (mode === 'APPEND_FORWARD' || mode === 'SANITIZE_SET')) {
      const entry = `By=${this.connection.localIdentity ?? ''};URI=${peer}`;
      const cur = this.headers['x-forwarded-client-cert'];
      this.headers['x-forwarded-client-cert'] = mode === 'APPEND_FORWARD' && cur ? `${cur},${entry}` : entry;
    }
  }

  private runFilters(from: number): void {
    const filters = this.filters;
    for (let i = from; i < filters.length; i++) {
      const f = filters[i];
      if (!f.onRequest) continue;
      let r;
      try {
        r = f.onRequest(this);
      } catch (e) {
        this.cm.runtime.logger.error({ err: String(e), filter: this.cm.filterFactories[i].name }, 'filter threw');
        return this.localReply({ status: 500, body: 'filter error' });
      }
      if (r && typeof (r as Promise<unknown>).then === 'function') {
        (r as Promise<LocalReply | undefined>).then(
          (out) => {
            if (this.done) return;
            if (out) this.localReply(out);
            else this.runFilters(i + 1);
          },
          (e) => {
            this.cm.runtime.logger.error({ err: String(e), filter: this.cm.filterFactories[i].name }, 'filter failed');
            if (!this.done) this.localReply({ status: 500, body: 'filter error' });
          },
        );
        return;
      }
      if (r) return this.localReply(r as LocalReply);
      if (this.done) return;
    }
    if (this.routeCleared) {
      this.route = this.routeRequest();
      this.routeCleared = false;
    }
    this.router = new Router(this);
    this.router.start();
  }

  private badRequest(status: number, details: string): void {
    if (status === 431) this.cm.stats.headerOverflow.inc();
    else this.cm.stats.rqBadRequest.inc();
    this.localReply({
      status,
      body: status === 431 ? 'Request Header Fields Too Large' : 'Bad Request',
      details,
      close: true,
    } as LocalReply);
  }

  /** Sends a locally generated response; gRPC callers get a trailers-only reply. */
  localReply(reply: LocalReply & { close?: boolean }): void {
    if (reply.flag) this.setResponseFlag(reply.flag);
    const res = this.res;
    if (this.responseStarted || res.headersSent) {
      res.destroy();
      return;
    }
    this.responseStarted = true;
    let status = reply.status;
    let body = reply.body ?? '';
    const headers: HeaderMap = { ...(reply.headers ?? {}) };
    if (this.isGrpc && (status !== 200 || reply.grpcStatus !== undefined)) {
      headers['content-type'] = 'application/grpc';
      headers['grpc-status'] = String(reply.grpcStatus ?? httpToGrpcStatus(status));
      if (body) headers['grpc-message'] = encodeURIComponent(body);
      status = 200;
      body = '';
    } else if (body) {
      headers['content-type'] ??= 'text/plain';
    }
    if (reply.flag === 'UO') headers['x-envoy-overloaded'] = 'true';
    if (reply.close && this.info.protocol !== 'HTTP/2') headers['connection'] = 'close';
    this.info.responseCode = status;
    if (this.isGrpc) this.info.grpcStatus = Number(headers['grpc-status'] ?? 0);
    const view = { status, headers };
    for (let i = this.filters.length - 1; i >= 0; i--) this.filters[i].onResponse?.(this, view);
    try {
      const h2stream = (res as { stream?: import('node:http2').ServerHttp2Stream }).stream;
      if (this.isGrpc && h2stream && !body) {
        // Trailers-only: one HEADERS frame with END_STREAM carrying grpc-status.
        h2stream.respond({ ':status': view.status, ...(headers as Record<string, string>) }, { endStream: true });
      } else {
        headers['content-length'] = String(Buffer.byteLength(body));
        res.writeHead(view.status, headers as Record<string, string>);
        res.end(body);
      }
    } catch {
      res.destroy();
    }
    this.info.bytesSent += Buffer.byteLength(body);
    // Drain any request body so a keep-alive connection stays usable.
    if (!this.req.readableEnded) this.req.resume();
  }

  /**
   * The whole request has arrived: its end was read, or it declared no body (a body-less request
   * is never read to its end: HTTP/2 END_STREAM on HEADERS, HTTP/1 without a length).
   */
  private requestComplete(): boolean {
    return this.req.readableEnded || bodyFraming(this) === 'none';
  }

  /** HCM `request_timeout`: the whole request must arrive in time, else 408 (Envoy). */
  private armRequestTimeout(ms: number): void {
    const timer = this.cm.runtime.clock.setTimeout(() => {
      if (this.done || this.requestComplete()) return;
      this.cm.stats.rqTimeout.inc();
      this.router?.abort();
      this.localReply({ status: 408, body: 'request timeout', close: true });
    }, ms);
    this.req.once('end', () => timer.cancel());
    this.res.once('close', () => timer.cancel());
  }

  /**
   * HCM `stream_idle_timeout` (or the route's `idle_timeout`) passed with no byte moving on the
   * stream, as Envoy's onIdleTimeout: a reset once the response has started; else 408 while the
   * request is still arriving (an HTTP/1 connection then closes: the rest of the body would be
   * read as the next request) or 504 once all of it has (the upstream stalled; Envoy ≥ 1.23,
   * runtime guard `override_request_timeout_by_gateway_timeout`).
   */
  private onStreamIdle(): void {
    if (this.done) return;
    this.cm.stats.rqIdleTimeout.inc();
    this.setResponseFlag('SI');
    this.router?.abort();
    if (this.responseStarted) return void this.res.destroy();
    const requestComplete = this.requestComplete();
    this.localReply({ status: requestComplete ? 504 : 408, body: 'stream timeout', close: !requestComplete });
  }

  private onClose(): void {
    if (this.done) return;
    this.done = true;
    const { cm, res, info } = this;
    if (!res.writableFinished) {
      if (!this.info.responseFlags.includes('UT')) this.setResponseFlag('DC');
      cm.stats.rqRxReset.inc();
    }
    this.router?.abort();
    const clock = cm.runtime.clock;
    info.duration = clock.monotonic() - info.startMono;
    if (!info.responseCode) info.responseCode = res.headersSent ? res.statusCode : 0;
    const st = cm.stats;
    st.rqActive.dec();
    st.rqCompleted.inc();
    if (info.responseCode) st.recordStatus(info.responseCode);
    st.rqTime.record(info.duration);
    for (const f of this.filters) f.onComplete?.(this);
    const hooks = cm.runtime.streamHooks;
    for (let i = 0; i < hooks.length; i++) {
      try {
        hooks[i](info);
      } catch (e) {
        cm.runtime.logger.warn({ err: String(e) }, 'stream-complete hook threw');
      }
    }
  }
}
