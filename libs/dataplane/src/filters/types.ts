/**
 * The HTTP filter contract. A filter is one folder `filters/http/<name>/`, registered by its
 * Envoy name and type URL(s). `parseConfig` decodes and validates `typed_config` once per push;
 * `create` builds a factory once per listener (HttpConnectionManager); the factory makes a
 * per-stream filter. Filters never throw across the chain: they return a LocalReply (with an
 * Envoy response flag) or nothing to continue.
 */
import type { Clock, FieldError, Logger, Random } from '@tsmesh/core';
import type { Msg } from '../engine/types';
import type { HeaderMap } from '../http/header-ops';
import type { RouteEntry } from '../http/route-table';
import type { ResponseFlag, StreamInfo } from '../http/stream-info';
import type { StatsStore } from '../stats/store';
import type { NetworkFilterFactory } from './network/types';

export interface LocalReply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  flag?: ResponseFlag;
  /** For gRPC requests: the grpc-status of the trailers-only reply (else mapped from status). */
  grpcStatus?: number;
  /** Short reason for logs (Envoy's response code details). */
  details?: string;
}

export type FilterResult = LocalReply | undefined | void;

/** Facts about the downstream connection a filter may read (Istio's `source.*`, `connection.*`). */
export interface DownstreamConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly tls: boolean;
  readonly sni?: string;
  /** URI SAN (SPIFFE ID) of the verified peer certificate, Istio's `source.principal`. */
  readonly peerIdentity?: string;
  /** URI SAN of our own certificate on this connection, Istio's `destination.principal`. */
  readonly localIdentity?: string;
  /** Peer certificate in PEM, when mTLS (for `x-forwarded-client-cert`). */
  getPeerIdentity(): string | undefined;
  /**
   * The listener's `per_connection_buffer_limit_bytes` (Envoy's 1 MiB when unset, 0 = no limit):
   * the HCM's per-stream request buffer limit on this connection. Set by the listener.
   */
  bufferLimitBytes?: number;
}

/** What a filter sees of one request. Headers are lower-case; pseudo-headers are fields. */
export interface HttpStreamContext {
  readonly method: string;
  readonly scheme: string;
  authority: string;
  /** Normalized path including the query string. */
  path: string;
  readonly headers: HeaderMap;
  readonly route: RouteEntry | null;
  readonly info: StreamInfo;
  readonly connection: DownstreamConnection;
  readonly isGrpc: boolean;
  /** Per-route config for `filterName` (route, then virtual host, then route config). */
  perRouteConfig<T>(filterName: string): T | undefined;
  setResponseFlag(flag: ResponseFlag): void;
  /** Re-runs route selection after a filter changed headers or path. */
  clearRouteCache(): void;
}

export interface ResponseHeadersView {
  status: number;
  headers: HeaderMap;
}

export interface HttpFilter {
  /** Request headers arrived. Return a LocalReply to stop; a Promise when the filter must wait. */
  onRequest?(ctx: HttpStreamContext): FilterResult | Promise<FilterResult>;
  /** Response headers (upstream or local) about to go downstream; may edit them. */
  onResponse?(ctx: HttpStreamContext, response: ResponseHeadersView): void;
  /** The stream finished (any outcome); release per-stream resources. */
  onComplete?(ctx: HttpStreamContext): void;
}

export interface FilterFactoryContext {
  readonly statPrefix: string;
  readonly stats: StatsStore;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly nodeId: string;
  /** Name of the filter in the chain (Envoy's `name`), used as its per-route config key. */
  readonly filterName: string;
}

export interface HttpFilterFactory<C = unknown, R = unknown> {
  /** Envoy's filter name, e.g. `envoy.filters.http.fault`. */
  readonly name: string;
  /** Type URLs accepted for typed_config (and per-route config). */
  readonly typeUrls: readonly string[];
  parseConfig(typed: Msg, path: string, errors: FieldError[]): C;
  /** Per-route override (`typed_per_filter_config`); defaults to parseConfig. */
  parsePerRoute?(typed: Msg, path: string, errors: FieldError[]): R;
  create(config: C, ctx: FilterFactoryContext): () => HttpFilter;
}

/** Plain map of filter factories by name and by type URL. Registration is explicit. */
export class FilterRegistry {
  private readonly byName = new Map<string, HttpFilterFactory>();
  private readonly byType = new Map<string, HttpFilterFactory>();
  // network (L4) filters have their own names: Istio's HTTP and TCP Mixer filters are both `mixer`
  private readonly networkByName = new Map<string, NetworkFilterFactory>();
  private readonly networkByType = new Map<string, NetworkFilterFactory>();

  register<C, R>(factory: HttpFilterFactory<C, R>): this {
    const f = factory as unknown as HttpFilterFactory;
    this.byName.set(f.name, f);
    for (const t of f.typeUrls) this.byType.set(t, f);
    return this;
  }

  /** Finds by `typed_config['@type']` first (Envoy's rule), then by name. */
  lookup(name: string, typeUrl?: string): HttpFilterFactory | undefined {
    return (typeUrl ? this.byType.get(typeUrl) : undefined) ?? this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** A network filter placed before tcp_proxy (see filters/network/types.ts). */
  registerNetwork<C>(factory: NetworkFilterFactory<C>): this {
    const f = factory as unknown as NetworkFilterFactory;
    this.networkByName.set(f.name, f);
    for (const t of f.typeUrls) this.networkByType.set(t, f);
    return this;
  }

  lookupNetwork(name: string, typeUrl?: string): NetworkFilterFactory | undefined {
    return typeUrl ? this.networkByType.get(typeUrl) : this.networkByName.get(name);
  }
}
