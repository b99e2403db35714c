/**
 * HTTP/1.1 protocol upgrades (WebSocket) when the connection manager lists the type in
 * `upgrade_configs`: the request is routed like any other, then the handshake is written to one
 * host of the route's cluster and the two connections are piped (the upstream's 101 goes back
 * as is). Without a matching upgrade config the request is proxied as a plain request.
 */
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { ConnectionManager } from './connection-manager';
import type { HeaderMap } from './header-ops';
import { normalizePath } from './path';
import { appendForwardedHost, first, rewrittenAuthority } from './router-request';

const DROP = new Set([
  'host',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'x-envoy-original-dst-host',
]);

function reject(socket: net.Socket, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
}

/** True when this request is an upgrade the connection manager accepts (and it was handled). */
export function handleUpgrade(cm: ConnectionManager, req: IncomingMessage, socket: net.Socket, head: Buffer): boolean {
  const type = String(req.headers.upgrade ?? '').toLowerCase();
  if (!cm.settings.upgrades.has(type)) return false;
  cm.stats.rqTotal.inc();
  cm.stats.rqHttp1.inc();
  cm.stats.cxUpgrades.inc();
  const authority = req.headers.host ?? '';
  const np = normalizePath(req.url ?? '/', cm.settings.path);
  if (!np.ok || !authority) {
    cm.stats.recordStatus(400);
    reject(socket, 400, 'Bad Request');
    return true;
  }
  const route = cm.routes()?.route({
    method: req.method ?? 'GET',
    path: np.path,
    query: np.query,
    authority,
    scheme: 'http',
    header: (n) => {
      if (n === ':authority') return authority;
      if (n === ':path') return np.path;
      if (n === ':method') return req.method;
      const v = req.headers[n];
      return Array.isArray(v) ? v.join(',') : v;
    },
  });
  const clusterName =
    route?.kind === 'cluster'
      ? route.cluster
      : route?.kind === 'weighted'
        ? route.weighted?.clusters[0]?.name
        : undefined;
  const cluster = clusterName ? cm.runtime.cluster(clusterName) : undefined;
  if (!route || !cluster) {
    cm.stats.noRoute.inc();
    cm.stats.recordStatus(404);
    reject(socket, 404, 'Not Found');
    return true;
  }
  const host = cluster.chooseHost({}, authority);
  if (!host) {
    cm.stats.recordStatus(503);
    reject(socket, 503, 'Service Unavailable');
    return true;
  }
  const path =
    route.prefixRewrite !== undefined && route.matchPrefix !== undefined
      ? route.prefixRewrite + np.path.slice(route.matchPrefix.length)
      : np.path;
  // The Host the router would send to this endpoint (literal or auto rewrite), with x-forwarded-host
  // appended only when the route asks for it and the authority really changed.
  const rewritten = rewrittenAuthority(route, host);
  const forwarded: HeaderMap = { 'x-forwarded-host': req.headers['x-forwarded-host'] };
  const replaceXfh = rewritten !== undefined && route.appendXForwardedHost === true;
  if (replaceXfh) appendForwardedHost(forwarded, authority);
  let text = `${req.method} ${path}${np.query ? `?${np.query}` : ''} HTTP/1.1\r\nhost: ${rewritten ?? authority}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (DROP.has(name) || (replaceXfh && name === 'x-forwarded-host')) continue;
    text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  if (replaceXfh) text += `x-forwarded-host: ${first(forwarded['x-forwarded-host'])}\r\n`;
  text += '\r\n';
  cluster.stats.cxTotal.inc();
  cluster.stats.cxActive.inc();
  cluster.stats.rqTotal.inc();
  const up = net.connect({ host: host.address, port: host.port });
  up.once('connect', () => {
    up.write(text, 'latin1');
    if (head.length) up.write(head);
    up.pipe(socket);
    socket.pipe(up);
  });
  up.on('error', () => {
    cluster.stats.cxConnectFail.inc();
    if (!socket.destroyed) reject(socket, 503, 'Service Unavailable');
  });
  up.once('close', () => {
    cluster.stats.cxActive.dec();
    socket.destroy();
  });
  socket.on('error', () => up.destroy());
  socket.once('close', () => up.destroy());
  return true;
}
