/**
 * The HTTP/2 session (one TCP or TLS connection) a gRPC client speaks over, set up as the
 * grpc-js channel this replaces had it: optional TLS verified against a given root, a receive
 * window of its own, a keepalive PING whose missing acknowledgement closes the session.
 */
import http2 from 'node:http2';

export interface GrpcSessionOptions {
  /** PEM root(s) to verify the server with over TLS; plaintext (h2c) when omitted. */
  rootCertPem?: string;
  /**
   * Receive window in bytes, per stream (SETTINGS_INITIAL_WINDOW_SIZE) and for the whole
   * connection (a WINDOW_UPDATE once connected). HTTP/2's default is 64 KiB; a large push then
   * waits a round trip per 64 KiB. It is a credit, not an allocation.
   */
  windowBytes?: number;
  /** Interval of keepalive PINGs; none when 0 or omitted. */
  keepaliveMs?: number;
  /** How long a PING may go unacknowledged before the session is closed with an error (default 20 s, grpc-js's). */
  keepaliveTimeoutMs?: number;
}

/** The largest window HTTP/2 allows (2^31 - 1). */
const MAX_WINDOW = 2 ** 31 - 1;

/** The `https://` / `http://` authority for `host:port` (`[v6]:port` kept as it is). */
function origin(address: string, tls: boolean): string {
  return `${tls ? 'https' : 'http'}://${address}`;
}

/**
 * Connects to `address` (`host:port`). The caller must listen for `error` on the returned session
 * as on any; this function adds a listener only for its own bookkeeping.
 */
export function connectGrpcSession(address: string, o: GrpcSessionOptions = {}): http2.ClientHttp2Session {
  const window = o.windowBytes === undefined ? undefined : Math.min(MAX_WINDOW, Math.max(65_535, o.windowBytes));
  const options: http2.SecureClientSessionOptions = {
    settings: { enablePush: false, ...(window === undefined ? {} : { initialWindowSize: window }) },
  };
  if (o.rootCertPem !== undefined) options.ca = o.rootCertPem;
  const session = http2.connect(origin(address, o.rootCertPem !== undefined), options);
  session.once('connect', () => {
    if (window !== undefined && !session.destroyed) session.setLocalWindowSize(window);
  });
  if (o.keepaliveMs) keepalive(session, o.keepaliveMs, o.keepaliveTimeoutMs ?? 20_000);
  return session;
}

/** Sends a PING every `intervalMs` once connected; destroys the session when one is not acknowledged in time. */
function keepalive(session: http2.ClientHttp2Session, intervalMs: number, timeoutMs: number): void {
  let waiting: NodeJS.Timeout | undefined;
  const timer = setInterval(() => {
    if (session.destroyed || session.connecting || waiting) return;
    waiting = setTimeout(() => {
      session.destroy(new Error(`keepalive PING not acknowledged within ${timeoutMs} ms`));
    }, timeoutMs);
    waiting.unref();
    try {
      session.ping((err) => {
        clearTimeout(waiting);
        waiting = undefined;
        if (err && !session.destroyed) session.destroy(err);
      });
    } catch (e) {
      clearTimeout(waiting);
      waiting = undefined;
      if (!session.destroyed) session.destroy(e as Error);
    }
  }, intervalMs);
  timer.unref();
  session.once('close', () => {
    clearInterval(timer);
    clearTimeout(waiting);
  });
}
