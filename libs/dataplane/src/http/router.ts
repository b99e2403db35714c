/**
 * The router (envoy.filters.http.router), last in every chain: direct responses, redirects,
 * cluster choice (single, weighted, cluster_header), rewrites and header edits, route and
 * per-try timeouts, retries with jittered backoff on another host, circuit-breaker admission,
 * request mirroring, and streaming the response back with Envoy's `x-envoy-*` headers.
 */
import type { TimerHandle } from '@tsmesh/core';
import type { Cluster } from '../upstream/cluster';
import type { Host } from '../upstream/host';
import type { UpstreamFailure, UpstreamHandlers, UpstreamResponseHead, UpstreamStream } from '../upstream/pool';
import type { ActiveStream } from './active-stream';
import type { Expiring } from './deadlines';
import { applyRequestOps, applyResponseOps, type HeaderMap, type HeaderOps } from './header-ops';
import { parseGrpcTimeout, replyFor } from './local-reply';
import { retriableFailure, retriableGrpc, retriableStatus } from './retry-policy';
import type { RouteEntry } from './route-table';
import type { ResponseFlag } from './stream-info';
import { sendMirror } from './mirror';
import { forwardResponse } from './forward-response';
import { DEFAULT_BUFFER_LIMIT_BYTES } from '../listeners/socket-helpers';
import {
  appendForwardedHost,
  bodyFraming,
  computeHash,
  effectiveRetry,
  first,
  redirectLocation,
  type EffectiveRetry,
} from './router-request';

/** Envoy's response flag and reset reason (named in the local reply body) for each pool failure. */
const FAILURE_REPLY: Readonly<Record<UpstreamFailure, { flag: ResponseFlag; reason: string }>> = {
  connect: { flag: 'UF', reason: 'connection failure' },
  reset: { flag: 'UC', reason: 'connection termination' },
  'remote-reset': { flag: 'UR', reason: 'remote reset' },
  refused: { flag: 'UR', reason: 'remote refused stream reset' },
  overflow: { flag: 'UO', reason: 'overflow' },
};

/** The local reply for an attempt that failed before its response head. */
function failureReply(kind: UpstreamFailure): ReturnType<typeof replyFor> {
  const { flag, reason } = FAILURE_REPLY[kind];
  return replyFor(flag, { body: `upstream connect error or disconnect/reset before headers. reset reason: ${reason}` });
}

/**
 * Bytes of request body kept for retries and mirrors (Envoy's retry/shadow buffer limit): the
 * HCM's per-stream limit, which is the listener's `per_connection_buffer_limit_bytes` (1 MiB
 * unset, 0 = no limit), lowered by the route's (else virtual host's) `per_request_buffer_limit_bytes`
 * when that is smaller.
 */
function retryShadowLimit(s: ActiveStream, route: RouteEntry): number {
  const listener = s.connection.bufferLimitBytes ?? DEFAULT_BUFFER_LIMIT_BYTES;
  const limit = listener === 0 ? Infinity : listener;
  return route.bufferLimitBytes === undefined ? limit : Math.min(limit, route.bufferLimitBytes);
}

/** One attempt's callbacks from the pool: an object per attempt instead of two closures. */
class AttemptHandlers implements UpstreamHandlers {
  constructor(
    private readonly router: Router,
    private readonly seq: number,
  ) {}
  onResponse(head: UpstreamResponseHead): void {
    this.router.onResponse(this.seq, head);
  }
  onError(kind: UpstreamFailure, err: Error): void {
    this.router.onUpstreamError(this.seq, kind, err);
  }
}

export class Router implements Expiring {
  private cluster: Cluster | undefined;
  private retry: EffectiveRetry | null = null;
  private timeoutMs = 0;
  private globalTimer: TimerHandle | null = null;
  private perTryTimer: TimerHandle | null = null;
  private retryTimer: TimerHandle | null = null;
  private upstream: UpstreamStream | null = null;
  private host: Host | null = null;
  private attemptStart = 0;
  /** Hosts tried so far; allocated only when a retry happens. */
  private tried: Set<Host> | null = null;
  private attempts = 0;
  private retriesDone = 0;
  private bodyChunks: Buffer[] | null = null;
  private bodyBytes = 0;
  private bodyDone = false;
  private bodyStarted = false;
  private bodyTooBig = false;
  private bodyLimit = Infinity;
  private finished = false;
  private admitted = false;
  private retryActive = false;
  private attemptSeq = 0;
  private hash: number | undefined;
  private clusterOps: HeaderOps | null = null;
  private upstreamPath = '/';
  private upstreamAuthority = '';
  private framing: 'none' | 'length' | 'chunked' | undefined;

  constructor(private readonly s: ActiveStream) {}

  start(): void {
    const s = this.s;
    const route = s.route;
    const st = s.cm.stats;
    if (!route) {
      st.noRoute.inc();
      return s.localReply(replyFor('NR'));
    }
    s.info.routeName = route.name;
    if (route.kind === 'direct') {
      st.rqDirectResponse.inc();
      const d = route.direct as { status: number; body: string };
      return this.localWithRouteHeaders(route, { status: d.status, body: d.body });
    }
    if (route.kind === 'redirect') {
      st.rqRedirect.inc();
      return this.localWithRouteHeaders(route, {
        status: route.redirect?.status ?? 301,
        headers: { location: redirectLocation(s, route) },
        body: '',
      });
    }
    let clusterName: string | undefined;
    if (route.kind === 'weighted') {
      const w = route.weighted as NonNullable<RouteEntry['weighted']>;
      let pick = s.cm.runtime.random.next() * w.total;
      for (const c of w.clusters) {
        pick -= c.weight;
        if (pick < 0) {
          clusterName = c.name;
          this.clusterOps = c.headerOps;
          break;
        }
      }
      if (!clusterName) {
        const last = w.clusters[w.clusters.length - 1];
        clusterName = last.name;
        this.clusterOps = last.headerOps;
      }
    } else if (route.kind === 'cluster_header') {
      clusterName = first(s.headers[route.clusterHeader as string]);
    } else clusterName = route.cluster;
    const cluster = clusterName ? s.cm.runtime.cluster(clusterName) : undefined;
    s.info.upstreamCluster = clusterName;
    if (!cluster) {
      st.noCluster.inc();
      return s.localReply(replyFor('NC'));
    }
    this.cluster = cluster;
    if (!cluster.admit()) {
      cluster.stats.rqPendingOverflow.inc();
      return s.localReply(replyFor('UO'));
    }
    this.admitted = true;
    cluster.rqActive++;
    cluster.stats.rqActive.inc();
    cluster.updateBreakerGauges();
    cluster.budget?.deposit();

    this.prepareRequest(route);
    this.retry = effectiveRetry(s, route.retryPolicy);
    if (this.retry || route.mirrors.length) {
      this.bodyChunks = [];
      this.bodyLimit = retryShadowLimit(s, route);
    }
    if (this.timeoutMs > 0) {
      this.globalTimer = s.cm.deadlines.add(this.timeoutMs, this);
    }
    for (const m of route.mirrors) {
      if (m.fraction >= 1 || s.cm.runtime.random.next() < m.fraction) this.mirror(m.cluster);
    }
    this.attempt();
  }

  private localWithRouteHeaders(
    route: RouteEntry,
    reply: { status: number; body: string; headers?: Record<string, string> },
  ): void {
    const headers: HeaderMap = { ...(reply.headers ?? {}) };
    applyResponseOps(headers, route.headerOps);
    this.s.localReply({ ...reply, headers: headers as Record<string, string> });
  }

  private prepareRequest(route: RouteEntry): void {
    const s = this.s;
    const h = s.headers;
    const trusted = s.trusted;
    let path = s.path;
    if (route.prefixRewrite !== undefined && route.matchPrefix !== undefined) {
      path = route.prefixRewrite + s.pathOnly.slice(route.matchPrefix.length) + (s.query ? `?${s.query}` : '');
      if (path[0] !== '/') path = '/' + path;
    } else if (route.regexRewrite) {
      path =
        route.regexRewrite.re.matcher(s.pathOnly).replaceAll(route.regexRewrite.substitution) +
        (s.query ? `?${s.query}` : '');
    }
    if (path !== s.path) {
      h['x-envoy-original-path'] = s.path;
      s.info.originalPath = s.path;
    }
    this.upstreamPath = path;
    if (route.hostRewrite) {
      if (route.appendXForwardedHost) appendForwardedHost(h, s.authority);
      this.upstreamAuthority = route.hostRewrite;
    } else this.upstreamAuthority = s.authority;
    // Timeouts: route, then x-envoy-upstream-rq-timeout-ms, then grpc-timeout under max_grpc_timeout.
    let timeout = route.timeoutMs;
    const hdrTimeout = trusted ? Number(first(h['x-envoy-upstream-rq-timeout-ms'])) : NaN;
    if (hdrTimeout >= 0) timeout = hdrTimeout;
    if (route.maxGrpcTimeoutMs !== undefined && s.isGrpc) {
      const g = parseGrpcTimeout(first(h['grpc-timeout']));
      if (g !== undefined) timeout = route.maxGrpcTimeoutMs > 0 ? Math.min(g, route.maxGrpcTimeoutMs) : g;
      else if (route.maxGrpcTimeoutMs > 0) timeout = route.maxGrpcTimeoutMs;
      else timeout = 0;
    }
    this.timeoutMs = timeout;
    applyRequestOps(h, route.headerOps);
    if (this.clusterOps) applyRequestOps(h, this.clusterOps);
    if (route.hashPolicies.length) this.hash = computeHash(s, route);
  }

  private mirror(clusterName: string): void {
    const c = this.s.cm.runtime.cluster(clusterName);
    if (!c) return;
    const s = this.s;
    const send = () =>
      sendMirror(c, {
        method: s.method,
        path: this.upstreamPath,
        authority: this.upstreamAuthority,
        scheme: s.scheme,
        headers: { ...s.headers },
        body: this.bodyTooBig ? null : (this.bodyChunks ?? []),
      });
    if (this.bodyDone) send();
    else this.mirrorsPending.push(send);
  }
  private readonly mirrorsPending: (() => void)[] = [];

  private attempt(): void {
    const s = this.s;
    const cluster = this.cluster as Cluster;
    const clock = s.cm.runtime.clock;
    const originalDst = first(s.headers['x-envoy-original-dst-host']) ?? s.authority;
    const host = cluster.chooseHost(
      { hash: this.hash, exclude: this.retry?.previousHosts && this.tried ? this.tried : undefined },
      originalDst,
    );
    if (!host) {
      cluster.stats.noHealthy.inc();
      return this.fail(replyFor('UH'));
    }
    this.attempts++;
    if (this.attempts > 1 || this.retry) (this.tried ??= new Set()).add(host);
    this.host = host;
    s.info.attemptCount = this.attempts;
    s.info.upstreamHost = host.key;
    host.rqActive++;
    host.rqTotal++;
    cluster.stats.rqTotal.inc();
    // The first attempt sends the stream's own header map; retries and mirrors copy it.
    const headers: HeaderMap = this.attempts === 1 && !this.s.route?.mirrors.length ? s.headers : { ...s.headers };
    let authority = this.upstreamAuthority;
    if (s.route?.autoHostRewrite && host.hostname) {
      if (s.route.appendXForwardedHost) appendForwardedHost(headers, s.authority);
      authority = host.hostname;
    }
    if (!cluster.settings.http2) headers['host'] = authority;
    headers['x-envoy-attempt-count'] = String(this.attempts);
    const perTry = this.retry?.perTryMs ?? 0;
    const expected = perTry > 0 ? (this.timeoutMs > 0 ? Math.min(perTry, this.timeoutMs) : perTry) : this.timeoutMs;
    if (expected > 0) headers['x-envoy-expected-rq-timeout-ms'] = String(Math.round(expected));
    this.attemptStart = clock.monotonic();
    const seq = ++this.attemptSeq;
    if (perTry > 0) this.perTryTimer = clock.setTimeout(() => this.onPerTryTimeout(seq), perTry);
    const up = cluster.pool.request(
      host,
      {
        method: s.method,
        path: this.upstreamPath,
        authority,
        scheme: cluster.settings.tls ? 'https' : 'http',
        headers,
        bodyFraming: (this.framing ??= bodyFraming(s)),
      },
      new AttemptHandlers(this, seq),
    );
    this.upstream = up;
    this.sendBody(up);
  }

  /** Streams the request body to the current attempt; replays the buffered part on retries. */
  private sendBody(up: UpstreamStream): void {
    const req = this.s.req;
    if (this.bodyStarted) {
      for (const c of this.bodyChunks ?? []) up.write(c);
      if (this.bodyDone) up.end();
      return;
    }
    this.bodyStarted = true;
    // No body declared (HTTP/1 without Content-Length/Transfer-Encoding, HTTP/2 END_STREAM on
    // HEADERS): finish the upstream request now; node completes the empty message itself.
    if (req.readableEnded || this.framing === 'none') {
      this.bodyDone = true;
      up.end();
      this.flushMirrors();
      return;
    }
    req.on('data', (chunk: Buffer) => {
      this.s.info.bytesReceived += chunk.length;
      if (this.bodyChunks && !this.bodyTooBig) {
        this.bodyBytes += chunk.length;
        if (this.bodyBytes > this.bodyLimit) {
          if (this.abandonBuffering()) return;
        } else this.bodyChunks.push(chunk);
      }
      const cur = this.upstream;
      if (cur && !cur.write(chunk)) {
        req.pause();
        cur.writable.once('drain', () => req.resume());
      }
    });
    req.once('end', () => {
      this.bodyDone = true;
      this.upstream?.end();
      this.flushMirrors();
    });
  }

  /**
   * The body outgrew the retry/shadow buffer (Envoy): stop keeping it, give up retries and mirrors
   * for this request (`retry_or_shadow_abandoned`); the attempt in flight carries on with the rest
   * of the body. Between attempts (a retry waiting for its backoff) nothing can carry the body any
   * more: 507. Returns true when the request ended here.
   */
  private abandonBuffering(): boolean {
    this.bodyTooBig = true;
    this.bodyChunks = null;
    this.retry = null;
    this.mirrorsPending.length = 0;
    const cluster = this.cluster as Cluster;
    cluster.stats.retryOrShadowAbandoned.inc();
    if (this.upstream || this.finished) return false;
    this.s.req.resume();
    this.fail({
      status: 507,
      body: 'exceeded request buffer limit while retrying upstream',
      details: 'request_payload_exceeded_retry_buffer_limit',
    });
    return true;
  }

  private flushMirrors(): void {
    for (const m of this.mirrorsPending.splice(0)) m();
  }

  private clearAttempt(): void {
    this.perTryTimer?.cancel();
    this.perTryTimer = null;
    if (this.host) {
      this.host.rqActive--;
    }
  }

  /** Can this attempt's outcome be retried now? Counts overflow when the breaker says no. */
  private mayRetry(): boolean {
    const r = this.retry;
    const cluster = this.cluster as Cluster;
    if (!r || this.retriesDone >= r.max || this.finished) return false;
    if (this.bodyTooBig || (!this.bodyDone && this.bodyBytes > 0)) return false;
    if (!cluster.canRetry()) {
      cluster.stats.rqRetryOverflow.inc();
      return false;
    }
    return true;
  }

  private scheduleRetry(): void {
    const r = this.retry as EffectiveRetry;
    const cluster = this.cluster as Cluster;
    const s = this.s;
    this.retriesDone++;
    cluster.stats.rqRetry.inc();
    if (!this.retryActive) {
      this.retryActive = true;
      cluster.retriesActive++;
    }
    const ceiling = Math.min(r.maxMs, (2 ** this.retriesDone - 1) * r.baseMs);
    const delay = s.cm.runtime.random.next() * ceiling;
    this.upstream = null;
    this.retryTimer = s.cm.runtime.clock.setTimeout(() => {
      this.retryTimer = null;
      if (!this.finished) this.attempt();
    }, delay);
  }

  /** An attempt's response head (AttemptHandlers). */
  onResponse(seq: number, head: UpstreamResponseHead): void {
    if (seq !== this.attemptSeq || this.finished) {
      head.body.resume();
      return;
    }
    const s = this.s;
    const cluster = this.cluster as Cluster;
    const host = this.host as Host;
    const clock = s.cm.runtime.clock;
    const latency = clock.monotonic() - this.attemptStart;
    this.clearAttempt();
    const status = head.status;
    cluster.stats.recordStatus(status);
    cluster.recordResult(host, status, status === 502 || status === 503 || status === 504, latency);
    const grpcStatus = s.isGrpc ? Number(first(head.headers['grpc-status']) ?? NaN) : NaN;
    const r = this.retry;
    const wantsRetry =
      r !== null &&
      (retriableStatus({ retryOn: r.on, retriableStatusCodes: r.codes }, status) ||
        (grpcStatus >= 0 && retriableGrpc(r.on, grpcStatus)));
    if (wantsRetry) {
      if (this.mayRetry()) {
        head.body.resume();
        return this.scheduleRetry();
      }
      if (this.retriesDone >= (r as EffectiveRetry).max) {
        s.setResponseFlag('URX');
        cluster.stats.rqRetryLimitExceeded.inc();
      }
    } else if (this.retriesDone > 0) cluster.stats.rqRetrySuccess.inc();
    forwardResponse(this.s, head, latency, this.clusterOps, () => this.finish());
  }

  /** An attempt failed before its response head (AttemptHandlers). */
  onUpstreamError(seq: number, kind: UpstreamFailure, err: Error): void {
    if (seq !== this.attemptSeq || this.finished) return;
    const s = this.s;
    const cluster = this.cluster as Cluster;
    const host = this.host as Host;
    const latency = s.cm.runtime.clock.monotonic() - this.attemptStart;
    this.clearAttempt();
    cluster.recordResult(host, 503, true, latency);
    // Envoy counts only a stream reset by the upstream here (not a refusal or a lost connection).
    if (kind === 'remote-reset') cluster.stats.rqRxReset.inc();
    s.cm.runtime.logger.debug({ err: String(err), host: host.key, kind }, 'upstream failure');
    const r = this.retry;
    if (r && retriableFailure(r.on, kind)) {
      if (this.mayRetry()) return this.scheduleRetry();
      if (this.retriesDone >= r.max) {
        s.setResponseFlag('URX');
        cluster.stats.rqRetryLimitExceeded.inc();
      }
    }
    this.fail(failureReply(kind));
  }

  private onPerTryTimeout(seq: number): void {
    if (seq !== this.attemptSeq || this.finished) return;
    const cluster = this.cluster as Cluster;
    cluster.stats.rqPerTryTimeout.inc();
    const host = this.host as Host;
    host.rqTimeout++;
    this.upstream?.abort();
    this.upstream = null;
    this.clearAttempt();
    this.attemptSeq++;
    cluster.recordResult(host, 504, true, this.retry?.perTryMs ?? 0);
    const r = this.retry;
    if (r && (r.on.has('5xx') || r.on.has('gateway-error') || r.on.has('reset')) && this.mayRetry())
      return this.scheduleRetry();
    this.s.cm.stats.rqTimeout.inc();
    this.fail(replyFor('UT'));
  }

  /** The route timeout passed (Deadlines). */
  expired(): void {
    if (this.finished) return;
    const cluster = this.cluster as Cluster;
    cluster.stats.rqTimeout.inc();
    if (this.host) this.host.rqTimeout++;
    this.upstream?.abort();
    if (this.upstream) this.clearAttempt();
    this.upstream = null;
    this.attemptSeq++;
    this.s.setResponseFlag('UT');
    this.fail(replyFor('UT'));
  }

  private fail(reply: ReturnType<typeof replyFor>): void {
    this.finish();
    this.s.localReply(reply);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.globalTimer?.cancel();
    this.perTryTimer?.cancel();
    this.retryTimer?.cancel();
    const cluster = this.cluster;
    if (cluster && this.admitted) {
      cluster.rqActive--;
      cluster.stats.rqActive.dec();
      if (this.retryActive) cluster.retriesActive--;
      cluster.updateBreakerGauges();
      cluster.stats.rqTime.record(this.s.cm.runtime.clock.monotonic() - this.s.info.startMono);
    }
  }

  /** Downstream went away (or the stream is done): release everything. */
  abort(): void {
    if (!this.finished) {
      if (this.upstream) {
        this.upstream.abort();
        this.clearAttempt();
        this.upstream = null;
      }
      this.finish();
    }
  }
}
