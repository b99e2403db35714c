/**
 * Pilot's HTTP side (Istio 15014): `/ready`, `/metrics`, `/debug/configz`,
 * `/debug/syncz`, `/debug/adsz`, `/debug/config_dump?proxyID=`, `/debug/registryz`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ConfigStore } from '@tsmesh/mesh-config';
import { generate } from '../configgen/generator';
import { TYPE } from '../configgen/names';
import type { PluginRegistry } from '../configgen/plugins';
import { parseNode, type Proxy } from '../model/proxy';
import type { Discovery } from '../xds/discovery';
import { redactResource, redactStored } from './redact';
import type { PilotMetrics } from '../xds/metrics';
import { shortType, type XdsServer } from '../xds/server';

export interface DebugServerOptions {
  store: ConfigStore;
  discovery: Discovery;
  xds: XdsServer;
  metrics: PilotMetrics;
  plugins?: PluginRegistry;
  ready: () => boolean;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** `/debug/syncz` rows: per proxy and type, sent/acked version and nonce, last NACK. */
export function syncz(xds: XdsServer): unknown[] {
  return [...xds.connections.values()].map((c) => {
    const types: Record<string, unknown> = {};
    for (const [t, s] of c.types)
      types[shortType(t)] = {
        subscribed: s.wildcard ? '*' : s.names,
        sent_version: s.sentVersion ?? null,
        sent_nonce: s.sentNonce ?? null,
        acked_version: s.ackedVersion ?? null,
        acked_nonce: s.ackedNonce ?? null,
        resources: s.sentCount ?? 0,
        synced: s.sentNonce !== undefined && s.ackedNonce === s.sentNonce,
        last_nack: s.nack ?? null,
      };
    return { proxy: c.proxy.id, connection: c.id, type: c.proxy.type, generator: c.proxy.generator, types };
  });
}

function findProxy(opts: DebugServerOptions, id: string): Proxy | undefined {
  for (const c of opts.xds.connections.values())
    if (c.proxy.id === id || c.proxy.podId === id || c.id === id) return c.proxy;
  try {
    return parseNode({ id });
  } catch {
    return undefined;
  }
}

/** SDS names the listeners reference (what a proxy that is not connected would ask for). */
function sdsNames(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) sdsNames(x, out);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const refs =
        k === 'tls_certificate_sds_secret_configs' ? x : k === 'validation_context_sds_secret_config' ? [x] : [];
      for (const r of refs as { name?: unknown }[]) if (typeof r?.name === 'string') out.add(r.name);
      sdsNames(x, out);
    }
  return out;
}

/** What Pilot would send the proxy, private keys redacted as in Envoy's own config_dump. */
export function configDump(opts: DebugServerOptions, proxy: Proxy): Record<string, unknown> {
  const ctx = opts.discovery.context();
  const out: Record<string, unknown> = { proxy: proxy.id, version: ctx.version };
  const conn = [...opts.xds.connections.values()].find((c) => c.proxy.id === proxy.id);
  for (const t of [TYPE.cluster, TYPE.endpoint, TYPE.listener, TYPE.route]) {
    const names = conn?.types.get(t)?.names ?? [];
    out[shortType(t)] = generate(t, proxy, ctx, names, opts.plugins) ?? [];
  }
  const subscribed = conn?.types.get(TYPE.secret)?.names ?? [];
  const sds = subscribed.length > 0 ? subscribed : [...sdsNames(out[shortType(TYPE.listener)])];
  out[shortType(TYPE.secret)] = sds.length > 0 ? (generate(TYPE.secret, proxy, ctx, sds, opts.plugins) ?? []) : [];
  return redactResource(out);
}

function handle(opts: DebugServerOptions, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://pilot');
  switch (url.pathname) {
    case '/ready':
      if (opts.ready()) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ready\n');
      } else {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('not ready\n');
      }
      return;
    case '/metrics':
      opts.metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
          res.end(text);
        },
        (e) => json(res, 500, { error: String(e) }),
      );
      return;
    case '/debug/configz':
      return json(res, 200, {
        version: opts.discovery.context().version,
        objects: opts.store
          .list()
          .map((o) => ({ key: o.key, source: o.source, revision: o.revision, object: redactStored(o.object) })),
        rejected: opts.store.listRejections(),
      });
    case '/debug/syncz':
      return json(res, 200, syncz(opts.xds));
    case '/debug/adsz':
      if (url.searchParams.get('push') === '1') opts.discovery.flush();
      return json(res, 200, {
        totalClients: opts.xds.connections.size,
        clients: [...opts.xds.connections.values()].map((c) => ({
          connectionId: c.id,
          proxy: c.proxy.id,
          peer: c.peer,
          connectedAt: c.connectedAt,
          labels: c.proxy.labels,
          watches: Object.fromEntries([...c.types].map(([t, s]) => [shortType(t), s.wildcard ? ['*'] : s.names])),
        })),
      });
    case '/debug/registryz':
      return json(res, 200, opts.discovery.context().services);
    case '/debug/endpointz':
      return json(res, 200, Object.fromEntries(opts.discovery.context().endpoints));
    case '/debug/config_dump': {
      const id = url.searchParams.get('proxyID') ?? '';
      const proxy = findProxy(opts, id);
      if (!proxy) return json(res, 404, { error: `no proxy ${id}; give a connected proxy id or a full node id` });
      return json(res, 200, configDump(opts, proxy));
    }
    default:
      return json(res, 404, {
        error: 'not found',
        paths: [
          '/ready',
          '/metrics',
          '/debug/configz',
          '/debug/syncz',
          '/debug/adsz',
          '/debug/config_dump?proxyID=',
          '/debug/registryz',
          '/debug/endpointz',
        ],
      });
  }
}

export function createDebugServer(opts: DebugServerOptions): Server {
  return createServer((req, res) => {
    try {
      handle(opts, req, res);
    } catch (e) {
      json(res, 500, { error: (e as Error).message });
    }
  });
}
