/**
 * The network (L4) filter contract, for filters that sit in a filter chain before `tcp_proxy`
 * (Envoy's read filters, e.g. Istio's `mixer` TCP filter). A filter is one folder
 * `filters/network/<name>/`, registered by its Envoy name and type URL(s) with
 * `FilterRegistry.registerNetwork`. `parseConfig` decodes and validates `typed_config` once per
 * push; `create` builds a per-chain factory; the factory makes one filter per connection.
 * Byte counts, the upstream host and the connection's timing are on the StreamInfo the
 * tcp_proxy fills as the connection runs.
 */
import type { FieldError } from '@tsmesh/core';
import type { Msg } from '../../engine/types';
import type { StreamInfo } from '../../http/stream-info';
import type { Host } from '../../upstream/host';
import type { DownstreamConnection, FilterFactoryContext } from '../types';

/** What a network filter sees of one downstream connection. */
export interface NetworkConnection {
  readonly connection: DownstreamConnection;
  /** Protocol TCP; bytesReceived/bytesSent, upstreamHost and duration are kept current by tcp_proxy. */
  readonly info: StreamInfo;
  /** The upstream host tcp_proxy picked, once it did. */
  readonly upstream?: Host;
}

export interface NetworkFilter {
  /**
   * Downstream bytes arrived (before they are forwarded). A Promise holds them, and everything
   * after them, until it settles: `true` lets them through, `false` closes the connection.
   */
  onData?(conn: NetworkConnection, bytes: number): Promise<boolean> | undefined;
  /** The connection closed (either side, any outcome). Called once. */
  onClose?(conn: NetworkConnection): void;
}

export interface NetworkFilterFactory<C = unknown> {
  /** Envoy's filter name, e.g. `mixer`. */
  readonly name: string;
  readonly typeUrls: readonly string[];
  parseConfig(typed: Msg, path: string, errors: FieldError[]): C;
  create(config: C, ctx: FilterFactoryContext): () => NetworkFilter;
}
