/**
 * Opening upstream TLS connections for an UpstreamTlsContext (the raw HTTP/1.1 pool's transport
 * socket). Every new connection takes the material as it is now (`UpstreamTlsOptions.current()`),
 * so a rotated certificate applies from the next connection on while pooled ones keep theirs.
 * TLS sessions are cached per host and per generation of the material: a connection opened after
 * a rotation never resumes a session negotiated with the previous certificate.
 */
import tls from 'node:tls';
import type { UpstreamTlsOptions } from './context';

/** Sessions kept per connector before the cache starts over. */
const MAX_SESSIONS = 256;

export class UpstreamTlsConnector {
  private readonly sessions = new Map<string, Buffer>();
  private generation = 0;

  constructor(private readonly opts: UpstreamTlsOptions) {}

  /**
   * A client TLS socket to `address:port` with SNI (only when configured, as Envoy), ALPN,
   * secure naming on the peer's SANs and a cached session of the current material when there is
   * one. Usable once it emits `secureConnect`. With `onread`, decrypted bytes are read into that
   * buffer as net's `onread` does (tls.connect passes it on to the socket when it opens the TCP
   * connection itself); callers check {@link readsIntoBuffer} in case a runtime ignored it.
   */
  connect(
    address: string,
    port: number,
    onread?: { buffer: Buffer; callback: (n: number, buf: Buffer) => boolean },
  ): tls.TLSSocket {
    const state = this.opts.current();
    if (state.generation !== this.generation) {
      this.generation = state.generation;
      this.sessions.clear();
    }
    const key = `${address}:${port}`;
    const session = this.sessions.get(key);
    const socket = tls.connect({
      host: address,
      port,
      servername: this.opts.servername,
      ALPNProtocols: this.opts.ALPNProtocols,
      checkServerIdentity: this.opts.checkServerIdentity,
      secureContext: state.secureContext,
      rejectUnauthorized: state.rejectUnauthorized,
      ...(session ? { session } : {}),
      ...(onread ? { onread } : {}),
    });
    socket.setNoDelay(true);
    const generation = state.generation;
    socket.on('session', (s: Buffer) => {
      if (generation !== this.generation) return;
      if (this.sessions.size >= MAX_SESSIONS && !this.sessions.has(key)) this.sessions.clear();
      this.sessions.set(key, s);
    });
    return socket;
  }
}

/**
 * Whether `socket` reads into `buffer` (its `onread` option took effect): node keeps the buffer
 * under a private symbol of the socket, looked up here by identity. False means reads arrive as
 * 'data' events.
 */
export function readsIntoBuffer(socket: tls.TLSSocket, buffer: Buffer): boolean {
  const rec = socket as unknown as Record<symbol, unknown>;
  for (const sym of Object.getOwnPropertySymbols(socket)) if (rec[sym] === buffer) return true;
  return false;
}
