/**
 * Test helpers for engine tests: real `node:http` upstreams on 127.0.0.1:0, snapshots written
 * as Envoy YAML (parsed by @tsmesh/protocol's fromYaml), an engine with the built-in filters.
 * Not part of the runtime path.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Clock, type Random } from '@tsmesh/core';
import { fromYaml } from '@tsmesh/protocol';
import { registerBuiltinFilters } from '../filters/builtin';
import { FilterRegistry } from '../filters/types';
import { Dataplane } from './dataplane';
import type { Msg, Snapshot } from './types';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface TestUpstream {
  port: number;
  address: string;
  requests: SeenRequest[];
  server: http.Server;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: SeenRequest, res: http.ServerResponse) => void;

/** An HTTP/1.1 upstream that records what it received; default reply 200 `name`. */
export async function startUpstream(name: string, handler?: UpstreamHandler): Promise<TestUpstream> {
  const requests: SeenRequest[] = [];
  const server = http.createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(seen);
      if (handler) return handler(seen, res);
      res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': name });
      res.end(name);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    requests,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function testEngine(opts: { clock?: Clock; random?: Random } = {}): Dataplane {
  return new Dataplane({
    nodeId: 'sidecar~127.0.0.1~test.default~default.svc.cluster.local',
    clock: opts.clock,
    random: opts.random,
    logger: silentLogger(),
    filters: registerBuiltinFilters(new FilterRegistry()),
    drainMs: 50,
  });
}

/** Snapshot from Envoy YAML documents (one resource per string). */
export function yamlSnapshot(parts: Partial<Record<keyof Snapshot, string[]>>): Snapshot {
  const types: Record<keyof Snapshot, string> = {
    listeners: 'envoy.config.listener.v3.Listener',
    routes: 'envoy.config.route.v3.RouteConfiguration',
    clusters: 'envoy.config.cluster.v3.Cluster',
    endpoints: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
    secrets: 'envoy.extensions.transport_sockets.tls.v3.Secret',
  };
  const out: Snapshot = { listeners: [], routes: [], clusters: [], endpoints: [], secrets: [] };
  for (const k of Object.keys(types) as (keyof Snapshot)[]) {
    out[k] = (parts[k] ?? []).map((y) => fromYaml<Msg>(types[k], y));
  }
  return out;
}

/** An HTTP listener on 127.0.0.1:0 using RDS route config `routeName` and the given extra HTTP filters. */
export function httpListenerYaml(name: string, routeName: string, filters: string[] = [], hcmExtra = ''): string {
  const f = [
    ...filters,
    `- name: envoy.filters.http.router\n  typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}`,
  ]
    .map((x) => x.replace(/^/gm, '          '))
    .join('\n');
  return `
name: ${name}
address: {socket_address: {address: 127.0.0.1, port_value: 0}}
filter_chains:
- filters:
  - name: envoy.filters.network.http_connection_manager
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      stat_prefix: ${name}
      rds: {route_config_name: "${routeName}", config_source: {ads: {}}}
${hcmExtra.replace(/^/gm, '      ')}
      http_filters:
${f}
`;
}

/** A listener on 127.0.0.1:0 whose one chain is `envoy.filters.network.tcp_proxy` to `cluster`. */
export function tcpProxyListenerYaml(name: string, cluster: string, statPrefix = name): string {
  return `
name: ${name}
address: {socket_address: {address: 127.0.0.1, port_value: 0}}
filter_chains:
- filters:
  - name: envoy.filters.network.tcp_proxy
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: ${statPrefix}
      cluster: ${cluster}
`;
}

/** A STATIC cluster over the given upstream addresses, plus extra YAML lines at the top level. */
export function staticClusterYaml(name: string, addresses: string[], extra = ''): string {
  const eps = addresses
    .map((a) => {
      const [host, port] = a.split(':');
      return `    - endpoint: {address: {socket_address: {address: ${host}, port_value: ${port}}}}`;
    })
    .join('\n');
  return `
name: ${name}
type: STATIC
connect_timeout: 1s
${extra}
load_assignment:
  cluster_name: ${name}
  endpoints:
  - lb_endpoints:
${eps}
`;
}

/**
 * Waits for `p` while moving a FakeClock forward in `stepMs` steps, yielding to real I/O
 * between steps (requests travel over real sockets while timers run on the fake clock).
 */
export async function pump<T>(
  clock: { advance(ms: number): void },
  p: Promise<T>,
  stepMs = 5,
  maxSteps = 20000,
): Promise<T> {
  let settled = false;
  const tracked = p.finally(() => {
    settled = true;
  });
  for (let i = 0; i < maxSteps && !settled; i++) {
    await new Promise((r) => setTimeout(r, 1));
    if (!settled) clock.advance(stepMs);
  }
  return tracked;
}

/** Resolves when `cond()` holds, polling on real time (for I/O-driven state in tests). */
export async function until(cond: () => boolean, tries = 5000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error('condition not reached');
}
