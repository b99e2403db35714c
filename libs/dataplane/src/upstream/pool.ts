/**
 * Upstream connection pools, one per cluster: HTTP/1.1 over the raw pooled client (raw-http1.ts,
 * plaintext or TLS with an UpstreamTlsContext) and HTTP/2 (h2c, or over TLS offering the context's
 * `alpn_protocols`, `h2` when it has none) over one shared `ClientHttp2Session` per host. Both
 * present the same small stream interface to the router. Connection counts feed the cluster's
 * `upstream_cx_*` stats and the max_connections breaker.
 */
import http2 from 'node:http2';
import { Writable, type Readable } from 'node:stream';
import type { Clock } from '@tsmesh/core';
import type { UpstreamTlsOptions } from '../tls/context';
import { UpstreamTlsConnector } from '../tls/upstream-connect';
import type { Host } from './host';
import type { ClusterStats } from './cluster-stats';
import { RawHttp1Pool } from './raw-http1';

/**
 * Why an attempt failed before its response head, as Envoy's stream reset reasons: `connect`
 * connection failure (UF); `reset` the connection ended under the stream, connection termination
 * (UC); `remote-reset` an HTTP/2 RST_STREAM from the upstream, remote reset (UR); `refused` a
 * RST_STREAM with REFUSED_STREAM, remote refused stream reset (UR, retriable as refused-stream);
 * `overflow` a pool limit (UO).
 */
export type UpstreamFailure = 'connect' | 'reset' | 'remote-reset' | 'refused' | 'overflow';

export interface UpstreamResponseHead {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  /** Calls back once with the trailers (possibly empty) after the body ends. */
  onTrailers(cb: (trailers: Record<string, string | string[] | undefined>) => void): void;
}

export interface UpstreamHandlers {
  onResponse(head: UpstreamResponseHead): void;
  onError(kind: UpstreamFailure, err: Error): void;
}

export interface UpstreamStream {
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer): void;
  abort(): void;
  /** The writable side, for piping a streaming request body. */
  readonly writable: NodeJS.WritableStream;
}

export interface RequestHead {
  method: string;
  path: string;
  authority: string;
  scheme: string;
  headers: Record<string, string | string[] | number | undefined>;
  /** How the request body is framed upstream: none, by content-length, or chunked (raw pool). */
  bodyFraming?: 'none' | 'length' | 'chunked';
}

export interface PoolOptions {
  clock: Clock;
  connectTimeoutMs: number;
  maxConnections: number;
  http2: boolean;
  /** TLS client options (UpstreamTlsContext; material resolved per new connection) or null for plaintext. */
  tls: UpstreamTlsOptions | null;
  stats: ClusterStats;
  /**
   * The cluster's `per_connection_buffer_limit_bytes` (unset/0: node's socket thresholds): each
   * HTTP/1 connection's soft write/read threshold and the body held for a request still waiting
   * for a connection. HTTP/2 sessions are bounded by their flow-control windows.
   */
  bufferLimitBytes?: number;
}

export interface UpstreamPool {
  request(host: Host, head: RequestHead, handlers: UpstreamHandlers): UpstreamStream;
  /** Open connections across hosts. */
  connections(): number;
  close(): void;
}

export function createPool(opts: PoolOptions): UpstreamPool {
  if (opts.http2) return new Http2Pool(opts);
  return new RawHttp1Pool(opts);
}

/**
 * The ALPN list an HTTP/2 cluster offers over TLS, as Envoy decides it: the UpstreamTlsContext's
 * `common_tls_context.alpn_protocols` when it has any (used as-is, nothing appended), else the
 * HTTP/2 codec's fallback `h2`.
 *
 * Pilot gives an ISTIO_MUTUAL cluster that speaks HTTP/2 (declared or h2UpgradePolicy) `[istio,
 * h2]`. The server picks from that by its own preference order (OpenSSL's SSL_select_next_proto
 * walks the server's list, in node's TLS server and in Envoy's server context alike), so a sidecar
 * inbound listener offering `[istio-peer-exchange, h2, http/1.1, istio]` (Pilot's; Istio's HTTP
 * inbound lists also rank `h2` first) selects `h2`, and its connection manager takes HTTP/2 by that ALPN. Whatever the
 * server selects, node's HTTP/2 client session speaks HTTP/2 on the connection (it never looks at
 * the negotiated protocol), as Envoy's HTTP/2 codec does; only a server that ranked `istio` above
 * `h2` would hand the preface to an HTTP/1 codec, and neither Pilot nor Istio emits such a list.
 * With no protocol in common a node TLS server refuses the handshake (a connect failure); Envoy's
 * server context goes on without ALPN.
 */
export function http2Alpn(tls: Pick<UpstreamTlsOptions, 'ALPNProtocols'>): string[] {
  return tls.ALPNProtocols?.length ? [...tls.ALPNProtocols] : ['h2'];
}

class Http2Pool implements UpstreamPool {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();
  /**
   * TLS connections (SNI only when configured, secure naming, sessions resumed per host within one
   * generation of the material) offering {@link http2Alpn}. `http2.connect` itself would always
   * offer exactly `['h2']` (it overwrites `ALPNProtocols`), so the socket is made here.
   */
  private readonly tls: UpstreamTlsConnector | null;

  constructor(private readonly opts: PoolOptions) {
    const t = opts.tls;
    this.tls = t
      ? new UpstreamTlsConnector({
          servername: t.servername,
          ALPNProtocols: http2Alpn(t),
          checkServerIdentity: t.checkServerIdentity,
          current: () => t.current(),
        })
      : null;
  }

  connections(): number {
    return this.sessions.size;
  }

  private session(host: Host): { s: http2.ClientHttp2Session; fresh: boolean } {
    const existing = this.sessions.get(host.key);
    if (existing && !existing.closed && !existing.destroyed) return { s: existing, fresh: false };
    const { stats, clock } = this.opts;
    const tls = this.tls;
    const authority = `${tls ? 'https' : 'http'}://${host.key}`;
    // A new session takes the TLS material as it is now (rotation applies to new sessions).
    const s = http2.connect(authority, {
      ...(tls ? { createConnection: () => tls.connect(host.address, host.port) } : {}),
      settings: { enablePush: false },
    });
    this.sessions.set(host.key, s);
    host.cxActive++;
    host.cxTotal++;
    stats.cxTotal.inc();
    stats.cxHttp2Total.inc();
    stats.cxActive.inc();
    const t = clock.setTimeout(() => {
      stats.cxConnectTimeout.inc();
      s.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
    }, this.opts.connectTimeoutMs);
    s.once('connect', () => t.cancel());
    s.on('error', () => undefined);
    s.once('close', () => {
      t.cancel();
      host.cxActive--;
      stats.cxActive.dec();
      if (this.sessions.get(host.key) === s) this.sessions.delete(host.key);
    });
    s.once('goaway', () => {
      if (this.sessions.get(host.key) === s) this.sessions.delete(host.key);
    });
    s.unref();
    return { s, fresh: true };
  }

  request(host: Host, head: RequestHead, handlers: UpstreamHandlers): UpstreamStream {
    const { s, fresh } = this.session(host);
    let connected = !fresh || !s.connecting;
    if (!connected) s.once('connect', () => (connected = true));
    const h2headers: http2.OutgoingHttpHeaders = {
      ...(head.headers as http2.OutgoingHttpHeaders),
      ':method': head.method,
      ':path': head.path,
      ':authority': head.authority,
      ':scheme': head.scheme,
    };
    delete h2headers['host'];
    let settled = false;
    const fail = (err: Error & { code?: string }, kind?: UpstreamFailure) => {
      if (settled) return;
      settled = true;
      const k: UpstreamFailure = kind ?? (connected ? 'reset' : 'connect');
      if (k === 'connect') {
        host.cxConnectFail++;
        this.opts.stats.cxConnectFail.inc();
      }
      handlers.onError(k, err);
    };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = s.request(h2headers, { endStream: false });
    } catch (e) {
      queueMicrotask(() => fail(e as Error));
      return { write: () => false, end: () => undefined, abort: () => undefined, writable: nullWritable() };
    }
    const onSessionError = (err: Error) => fail(err);
    s.once('error', onSessionError);
    stream.on('response', (headers) => {
      settled = true;
      s.off('error', onSessionError);
      const status = Number(headers[':status'] ?? 502);
      const out: Record<string, string | string[] | undefined> = {};
      for (const k in headers) if (k[0] !== ':') out[k] = headers[k] as string | string[];
      let trailers: Record<string, string | string[] | undefined> = {};
      stream.once('trailers', (t) => {
        trailers = {};
        for (const k in t) if (k[0] !== ':') trailers[k] = t[k] as string | string[];
      });
      handlers.onResponse({
        status,
        headers: out,
        body: stream,
        onTrailers: (cb) => stream.once('end', () => cb(trailers)),
      });
    });
    // Node reports a RST_STREAM from the upstream and the loss of the whole session alike (stream
    // 'error' then 'close'; CANCEL only 'close'), so the session tells them apart: still alive means
    // the upstream reset this stream (remote reset, or refused stream: never processed); destroyed
    // means connection termination (or connect failure before it was up), decided by `fail`.
    const resetKind = (): UpstreamFailure | undefined => {
      if (s.destroyed) return undefined;
      return stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ? 'refused' : 'remote-reset';
    };
    stream.on('error', (err: Error & { code?: string }) => fail(err, resetKind()));
    stream.on('close', () => {
      s.off('error', onSessionError);
      if (!settled) fail(new Error(`stream closed (rst ${stream.rstCode})`), resetKind());
    });
    return {
      write: (c) => stream.write(c),
      end: (c) => (c ? stream.end(c) : stream.end()),
      abort: () => {
        settled = true;
        stream.close(http2.constants.NGHTTP2_CANCEL);
      },
      writable: stream,
    };
  }

  close(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }
}

/** A sink for a request that never started (session already failed). */
function nullWritable(): NodeJS.WritableStream {
  return new Writable({ write: (_c, _e, cb) => cb() });
}
