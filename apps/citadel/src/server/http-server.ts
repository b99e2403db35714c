/**
 * Citadel's HTTP side: `/root-cert.pem` (the trust bundle workloads and the
 * launcher fetch), `/metrics` (Prometheus text), `/ready`, `/healthz`. Nothing
 * here can reveal key material: the handler only ever sees the root PEM.
 */
import http from 'node:http';
import type { Registry } from '@tsmesh/core';

export function createHttpServer(getRootPem: () => string, registry: Registry, isReady: () => boolean): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/root-cert.pem' || path === '/cacerts/root-cert.pem') {
      res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(getRootPem());
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (path === '/ready' || path === '/healthz') {
      const ok = isReady();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
}
