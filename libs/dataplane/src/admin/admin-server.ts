/**
 * Envoy's admin API (operations/admin.rst) over an AdminBackend: `/ready`, `/server_info`,
 * `/stats` (text, `?filter=`, `?format=json`, `?usedonly`), `/stats/prometheus`, `/clusters`,
 * `/listeners`, `/config_dump` (`?include_eds`), `/logging`, `/quitquitquit`,
 * `/healthcheck/fail|ok`, `/drain_listeners`, `/reset_counters`, `/runtime`, `/help`.
 * Mutating endpoints need POST, as in Envoy. Also the two small servers Istio puts beside it:
 * `:15090/stats/prometheus` and the agent's `:15021/healthz/ready`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LogLevel } from '@tsmesh/core';
import { renderPrometheus, renderStatsText } from '../stats/render';
import { renderClustersJson, renderClustersText, renderListenersJson, renderListenersText } from './render-clusters';
import type { AdminBackend } from './types';

type Handler = (q: URLSearchParams, backend: AdminBackend) => Reply | Promise<Reply>;
interface Reply {
  status?: number;
  type?: string;
  body: string | object;
  after?: () => void;
}
interface Endpoint {
  help: string;
  post?: boolean;
  handler: Handler;
}

const QUANTILES = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100];
const LOGGERS = ['admin', 'config', 'connection', 'http', 'main', 'router', 'upstream', 'tracing'];
/**
 * Envoy's `/logging` level names (spdlog's: `warning`, `critical`, `off`) and the logger level
 * each one sets; the endpoint accepts and prints only Envoy's names.
 */
const ENVOY_LOG_LEVELS: ReadonlyMap<string, LogLevel> = new Map<string, LogLevel>([
  ['trace', 'trace'],
  ['debug', 'debug'],
  ['info', 'info'],
  ['warning', 'warn'],
  ['error', 'error'],
  ['critical', 'fatal'],
  ['off', 'silent'],
]);

/** Envoy's name for the logger's level (a level with no Envoy name is printed as is). */
function envoyLogLevel(level: string): string {
  for (const [envoy, own] of ENVOY_LOG_LEVELS) if (own === level) return envoy;
  return level;
}

function statsJson(backend: AdminBackend, filter: RegExp | undefined, usedOnly: boolean): object {
  const stats: object[] = [];
  for (const s of [...backend.stats.counters(), ...backend.stats.gauges()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (filter && !filter.test(s.name)) continue;
    if (usedOnly && s.value === 0) continue;
    stats.push({ name: s.name, value: s.value });
  }
  const computed = backend.stats
    .histograms()
    .filter((h) => (!filter || filter.test(h.name)) && (!usedOnly || h.count > 0))
    .map((h) => ({
      name: h.name,
      values: QUANTILES.map((q) => {
        const v = h.quantile(q / 100);
        return { interval: null, cumulative: Number.isNaN(v) ? null : v };
      }),
    }));
  stats.push({ histograms: { supported_quantiles: QUANTILES, computed_quantiles: computed } });
  return { stats };
}

function parseFilter(q: URLSearchParams): RegExp | undefined | Reply {
  const f = q.get('filter');
  if (!f) return undefined;
  try {
    return new RegExp(f);
  } catch {
    return { status: 400, body: `Invalid re2 regex: ${f}\n` };
  }
}

export const ADMIN_ENDPOINTS: Record<string, Endpoint> = {
  '/ready': {
    help: 'print server state, return 200 if LIVE, otherwise return 503',
    handler: (_q, b) => {
      const state = b.state();
      return { status: state === 'LIVE' ? 200 : 503, body: `${state}\n` };
    },
  },
  '/server_info': { help: 'print server version/status information', handler: (_q, b) => ({ body: b.serverInfo() }) },
  '/stats': {
    help: 'print server stats (?format=json, ?filter=<regex>, ?usedonly)',
    handler: (q, b) => {
      const filter = parseFilter(q);
      if (filter && !(filter instanceof RegExp)) return filter;
      if (q.get('format') === 'json') return { body: statsJson(b, filter, q.has('usedonly')) };
      if (q.get('format') === 'prometheus')
        return { type: 'text/plain; version=0.0.4', body: renderPrometheus(b.stats) };
      let text = renderStatsText(b.stats, filter);
      if (q.has('usedonly'))
        text =
          text
            .split('\n')
            .filter((l) => l && !/: (0|No recorded values)$/.test(l))
            .join('\n') + '\n';
      return { body: text };
    },
  },
  '/stats/prometheus': {
    help: 'print server stats in prometheus format',
    handler: (_q, b) => ({ type: 'text/plain; version=0.0.4; charset=utf-8', body: renderPrometheus(b.stats) }),
  },
  '/clusters': {
    help: 'upstream cluster status (?format=json)',
    handler: (q, b) => ({
      body: q.get('format') === 'json' ? renderClustersJson(b.clusters()) : renderClustersText(b.clusters()),
    }),
  },
  '/listeners': {
    help: 'print listener info (?format=json)',
    handler: (q, b) => ({
      body: q.get('format') === 'json' ? renderListenersJson(b.listeners()) : renderListenersText(b.listeners()),
    }),
  },
  '/config_dump': {
    help: 'dump current Envoy configs (?include_eds)',
    handler: (q, b) => ({ body: b.configDump({ includeEds: q.has('include_eds') }) }),
  },
  '/logging': {
    help: 'query/change logging levels (POST /logging?level=debug)',
    handler: (q, b) => {
      const level = q.get('level');
      if (level !== null) {
        const own = ENVOY_LOG_LEVELS.get(level);
        if (!own) {
          const names = [...ENVOY_LOG_LEVELS.keys()].join(', ');
          return { status: 400, body: `error: unknown level ${level} (one of ${names})\n` };
        }
        b.setLogLevel(own);
      }
      const current = envoyLogLevel(b.logLevel());
      return { body: `active loggers:\n${LOGGERS.map((l) => `  ${l}: ${current}`).join('\n')}\n` };
    },
  },
  '/quitquitquit': {
    help: 'exit the server',
    post: true,
    handler: (_q, b) => ({ body: 'OK\n', after: () => b.quit() }),
  },
  '/healthcheck/fail': {
    help: 'cause the server to fail health checks',
    post: true,
    handler: (_q, b) => {
      b.setHealthCheckFailed(true);
      return { body: 'OK\n' };
    },
  },
  '/healthcheck/ok': {
    help: 'cause the server to pass health checks',
    post: true,
    handler: (_q, b) => {
      b.setHealthCheckFailed(false);
      return { body: 'OK\n' };
    },
  },
  '/drain_listeners': {
    help: 'drain listeners (?graceful, ?inboundonly)',
    post: true,
    handler: async (q, b) => {
      await b.drainListeners({ graceful: q.has('graceful'), inboundOnly: q.has('inboundonly') });
      return { body: 'OK\n' };
    },
  },
  '/reset_counters': {
    help: 'reset all counters to zero',
    post: true,
    handler: (_q, b) => {
      b.stats.resetCounters();
      return { body: 'OK\n' };
    },
  },
  '/runtime': { help: 'print runtime values', handler: () => ({ body: { entries: {}, layers: [] } }) },
  '/certs': { help: 'print certs on machine', handler: () => ({ body: { certificates: [] } }) },
};

function helpText(): string {
  return (
    'admin commands are:\n' +
    Object.entries(ADMIN_ENDPOINTS)
      .map(([p, e]) => `  ${p}: ${e.help}`)
      .join('\n') +
    '\n'
  );
}

function send(res: http.ServerResponse, reply: Reply): void {
  const isText = typeof reply.body === 'string';
  const body = isText ? (reply.body as string) : JSON.stringify(reply.body, null, 1) + '\n';
  res.writeHead(reply.status ?? 200, {
    'content-type': reply.type ?? (isText ? 'text/plain; charset=UTF-8' : 'application/json'),
    'cache-control': 'no-cache, max-age=0',
    'x-content-type-options': 'nosniff',
  });
  res.end(body, () => reply.after?.());
}

export function adminHandler(backend: AdminBackend): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    if (path === '/' || path === '/help') return send(res, { body: helpText() });
    const ep = ADMIN_ENDPOINTS[path];
    if (!ep) return send(res, { status: 404, body: `invalid path. ${helpText()}` });
    const mutating = ep.post || (path === '/logging' && url.searchParams.has('level'));
    if (mutating && req.method !== 'POST') return send(res, { status: 405, body: 'This endpoint requires POST\n' });
    Promise.resolve()
      .then(() => ep.handler(url.searchParams, backend))
      .then(
        (reply) => send(res, reply),
        (err: unknown) => send(res, { status: 500, body: `${(err as Error).message}\n` }),
      );
  };
}

/** `:15090` — only `/stats/prometheus`, as Istio's static listener serves it. */
export function prometheusHandler(backend: AdminBackend): http.RequestListener {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://p').pathname;
    if (path !== '/stats/prometheus') return send(res, { status: 404, body: 'not found\n' });
    send(res, { type: 'text/plain; version=0.0.4; charset=utf-8', body: renderPrometheus(backend.stats) });
  };
}

/** `:15021/healthz/ready` — 200 only when the proxy is LIVE (config received, not draining). */
export function healthHandler(backend: AdminBackend): http.RequestListener {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://h').pathname;
    if (path !== '/healthz/ready') return send(res, { status: 404, body: 'not found\n' });
    const state = backend.state();
    send(res, { status: state === 'LIVE' ? 200 : 503, body: `${state}\n` });
  };
}

export interface BoundServer {
  server: http.Server;
  /** `host:port` actually bound. */
  address: string;
  close(): Promise<void>;
}

/** Binds an HTTP server on `host:port` (port 0 allowed). */
export async function listenHttp(address: string, handler: http.RequestListener): Promise<BoundServer> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = Number(address.slice(i + 1));
  const server = http.createServer(handler);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    server,
    address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
