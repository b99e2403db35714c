/** Server roles shared by the proxy benchmarks (each runs in its own process). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const BODY = 'hello world\n';

/** Listens on a free loopback port and prints `{"port":N}` for the parent. */
export function announce(server: http.Server): void {
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
}

/** The upstream app: 200 with a 12-byte body. */
export function roleUpstream(): void {
  announce(
    http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
      res.end(BODY);
    }),
  );
}

/** A Zipkin collector that accepts and drops spans. */
export function roleZipkin(): void {
  announce(
    http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(202).end());
    }),
  );
}
