import net from 'node:net';

/** A TCP port that was free a moment ago on `host` (prefer passing port 0 to the server itself). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** `host:port` of a listening server. */
export function addressOf(server: { address(): string | net.AddressInfo | null }): string {
  const a = server.address();
  if (!a || typeof a === 'string') throw new Error('server is not listening on TCP');
  return `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}
