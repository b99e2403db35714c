/**
 * The HTTP connection manager (envoy.filters.network.http_connection_manager), built once per
 * push per filter chain. It checks and normalizes each request (limits, smuggling, path), strips
 * untrusted internal headers, picks the route, runs the HTTP filters and hands the stream to the
 * router. Local replies all go through `ActiveStream.localReply`.
 */
import type { FieldError } from '@tsmesh/core';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { DownstreamConnection, FilterRegistry, HttpFilter } from '../filters/types';
import { ActiveStream } from './active-stream';
import { handleConnect } from './connect';
import { Deadlines } from './deadlines';
import { handleUpgrade } from './upgrade';
import { parseHcm, type HcmSettings } from './hcm-config';
import { HcmStats } from './hcm-stats';
import { compileRouteConfiguration, type CompiledRouteConfig, type PerFilterParser } from './route-table';
import type { HcmRuntime } from './runtime';

/**
 * A downstream request as the stream model reads it: what node's `IncomingMessage` and
 * `Http2ServerRequest` and the raw HTTP/1.1 codec's `Http1Request` all provide.
 */
export interface DownstreamRequest {
  readonly method?: string;
  readonly url?: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  readonly readableEnded: boolean;
  /** node's objects: name/value pairs as received. */
  readonly rawHeaders?: string[];
  /** The raw codec: number of header fields (it builds no `rawHeaders`). */
  readonly headerCount?: number;
  on(event: 'data', fn: (chunk: Buffer) => void): unknown;
  once(event: 'end', fn: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/** A downstream response: node's `ServerResponse` / `Http2ServerResponse` or `Http1Response`. */
export interface DownstreamResponse {
  readonly headersSent: boolean;
  readonly statusCode: number;
  readonly writableFinished: boolean;
  writeHead(status: number, headers?: Record<string, string | string[]>): unknown;
  write(chunk: Buffer): boolean;
  end(): unknown;
  end(data: string | Buffer): unknown;
  addTrailers(headers: Record<string, string>): void;
  destroy(): unknown;
  /** The stream idle timer: `fn` after `ms` with no byte moving either way on this stream. */
  setTimeout(ms: number, fn: () => void): unknown;
  once(event: 'close' | 'drain', fn: () => void): unknown;
  on(event: 'close', fn: () => void): unknown;
}

/** Per-filter config parser over the registry (typed_per_filter_config). */
export function perFilterParser(registry: FilterRegistry): PerFilterParser {
  return (name, typed, path, errors) => {
    const f = registry.lookup(name, typed?.['@type'] as string | undefined);
    if (!f) {
      // Envoy ignores per-route config for filters it does not know only when marked optional.
      if (typed?.['is_optional'] === true) return undefined;
      errors.push({ path, message: `unknown HTTP filter "${name}" in typed_per_filter_config` });
      return undefined;
    }
    const inner =
      typed?.['@type'] === 'type.googleapis.com/envoy.config.route.v3.FilterConfig' ? (typed['config'] ?? {}) : typed;
    return (f.parsePerRoute ?? f.parseConfig).call(f, inner, path, errors);
  };
}

export class ConnectionManager {
  readonly stats: HcmStats;
  /** Route timeouts of this manager's requests. */
  readonly deadlines: Deadlines;
  readonly filterFactories: { name: string; make: () => HttpFilter }[] = [];
  private readonly staticRoutes?: CompiledRouteConfig;

  constructor(
    readonly settings: HcmSettings,
    readonly runtime: HcmRuntime,
    readonly listenerName: string,
    registry: FilterRegistry,
    errors: FieldError[],
  ) {
    this.stats = new HcmStats(runtime.stats, settings.statPrefix);
    this.deadlines = new Deadlines(runtime.clock);
    for (const f of settings.httpFilters) {
      if (f.disabled || f.name === 'envoy.filters.http.router') continue;
      const typeUrl = f.typed['@type'] as string | undefined;
      if (typeUrl === 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router') continue;
      const factory = registry.lookup(f.name, typeUrl);
      if (!factory) {
        errors.push({ path: `${f.path}.name`, message: `unknown HTTP filter "${f.name}"` });
        continue;
      }
      const config = factory.parseConfig(f.typed, `${f.path}.typed_config`, errors);
      const make = factory.create(config, {
        statPrefix: settings.statPrefix,
        stats: runtime.stats,
        clock: runtime.clock,
        random: runtime.random,
        logger: runtime.logger,
        nodeId: runtime.nodeId,
        filterName: f.name,
      });
      this.filterFactories.push({ name: f.name, make });
    }
    if (settings.routeConfig) {
      this.staticRoutes = compileRouteConfiguration(settings.routeConfig, errors, perFilterParser(registry));
    }
  }

  /** The route table in force for the next request (inline, or the latest RDS push). */
  routes(): CompiledRouteConfig | undefined {
    return this.staticRoutes ?? (this.settings.rdsName ? this.runtime.routeConfig(this.settings.rdsName) : undefined);
  }

  handle(req: DownstreamRequest, res: DownstreamResponse, conn: DownstreamConnection): void {
    new ActiveStream(this, req, res, conn).start();
  }

  /** HTTP/1.1 Upgrade (WebSocket) per `upgrade_configs`; false when not accepted. */
  handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): boolean {
    return handleUpgrade(this, req, socket, head);
  }

  /** HTTP/1.1 `CONNECT host:port` (apps using the sidecar as their proxy for TLS). */
  handleConnect(req: IncomingMessage, socket: Socket, head: Buffer, conn: DownstreamConnection): void {
    handleConnect(this, req, socket, head, conn);
  }
}

export function buildConnectionManager(
  typed: Record<string, unknown>,
  path: string,
  runtime: HcmRuntime,
  listenerName: string,
  registry: FilterRegistry,
  errors: FieldError[],
): ConnectionManager {
  return new ConnectionManager(parseHcm(typed, path, errors), runtime, listenerName, registry, errors);
}
