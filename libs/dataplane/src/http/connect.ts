/**
 * HTTP/1.1 CONNECT on a connection manager (outbound listener used as an HTTP proxy): routes
 * whose match has `connect_matcher` pick the cluster; the tunnel is a byte pipe to one host of
 * it (ORIGINAL_DST clusters connect to the requested `host:port`).
 */
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { DownstreamConnection } from '../filters/types';
import type { ConnectionManager } from './connection-manager';
import { LOCAL_REPLY_BODIES } from './local-reply';

function reject(socket: net.Socket, status: number, reason: string, body = ''): void {
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export function handleConnect(
  cm: ConnectionManager,
  req: IncomingMessage,
  socket: net.Socket,
  head: Buffer,
  _conn: DownstreamConnection,
): void {
  cm.stats.rqTotal.inc();
  cm.stats.rqHttp1.inc();
  const authority = req.url ?? '';
  const table = cm.routes();
  const route = table?.route({
    method: 'CONNECT',
    path: '/',
    query: '',
    authority,
    scheme: 'http',
    header: (n) => (n === ':authority' ? authority : (req.headers[n] as string | undefined)),
  });
  if (!route || route.kind !== 'cluster' || !route.cluster) {
    cm.stats.noRoute.inc();
    cm.stats.recordStatus(404);
    return reject(socket, 404, 'Not Found');
  }
  const cluster = cm.runtime.cluster(route.cluster);
  const host = cluster?.chooseHost({}, authority);
  if (!cluster || !host) {
    cm.stats.recordStatus(503);
    return reject(socket, 503, 'Service Unavailable', LOCAL_REPLY_BODIES.UH?.body);
  }
  cluster.stats.cxTotal.inc();
  cluster.stats.cxActive.inc();
  const up = net.connect({ host: host.address, port: host.port });
  let connected = false;
  up.once('connect', () => {
    connected = true;
    cm.stats.recordStatus(200);
    socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
    if (head.length) up.write(head);
    up.pipe(socket);
    socket.pipe(up);
  });
  up.once('close', () => {
    cluster.stats.cxActive.dec();
    socket.destroy();
  });
  up.on('error', () => {
    if (!connected) {
      cluster.stats.cxConnectFail.inc();
      cm.stats.recordStatus(503);
      reject(socket, 503, 'Service Unavailable', LOCAL_REPLY_BODIES.UF?.body);
    }
  });
  socket.on('error', () => up.destroy());
  socket.once('close', () => up.destroy());
}
