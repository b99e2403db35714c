/**
 * Socket-level helpers for listeners: replaying peeked bytes to nghttp2/TLS, cached TLS
 * contexts, HTTP/2 rapid-reset protection and the HTTP/2 connection idle timeout.
 */
import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { ResolvedTls } from '../tls/context';

/** A duplex over `socket` that first yields what is still buffered in it (the peeked preface). */
export function replayStream(socket: net.Socket): Duplex {
  const d = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _enc, cb) => void socket.write(chunk, cb),
    final: (cb) => {
      socket.end();
      cb();
    },
    destroy: (err, cb) => {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  const buffered = socket.read() as Buffer | null;
  if (buffered) d.push(buffered);
  socket.on('data', (c: Buffer) => {
    if (!d.push(c)) socket.pause();
  });
  socket.once('end', () => d.push(null));
  socket.once('close', () => d.destroy());
  Object.defineProperties(d, {
    remoteAddress: { get: () => socket.remoteAddress },
    remotePort: { get: () => socket.remotePort },
    localAddress: { get: () => socket.localAddress },
    localPort: { get: () => socket.localPort },
  });
  return d;
}

const contexts = new WeakMap<ResolvedTls, { cert?: string; key?: string; ca?: string; ctx: tls.SecureContext }>();

/**
 * The TLS context for a chain, rebuilt only when the material changed (rotation through the
 * CertificateProvider). A new context also means new session-ticket keys, so sessions never
 * resume across a certificate or validation change. The context carries a session id context
 * (as `tls.Server` sets one): without it OpenSSL answers every resumption attempt on a
 * client-certificate-verifying server with an `internal_error` alert, so each reconnecting client
 * whose session was cached failed its handshake.
 */
export function secureContextFor(t: ResolvedTls): tls.SecureContext {
  const o = t.options();
  const hit = contexts.get(t);
  if (hit && hit.cert === o.cert && hit.key === o.key && hit.ca === o.ca) return hit.ctx;
  const sessionIdContext = createHash('sha256')
    .update(`${o.cert ?? ''}\0${o.ca ?? ''}`)
    .digest('hex')
    .slice(0, 32);
  const ctx = tls.createSecureContext({ ...o, sessionIdContext });
  contexts.set(t, { cert: o.cert, key: o.key, ca: o.ca, ctx });
  return ctx;
}

/**
 * HTTP/2 rapid-reset protection (CVE-2023-44487): a session whose client cancels more than half
 * of its streams before any response, past 100 such streams, is sent GOAWAY and closed.
 */
export function guardRapidReset(session: http2.ServerHttp2Session, onTrip: () => void, minPremature = 100): void {
  let total = 0;
  let premature = 0;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    total++;
    stream.once('close', () => {
      if (stream.headersSent || stream.rstCode === http2.constants.NGHTTP2_NO_ERROR) return;
      premature++;
      if (premature > minPremature && premature * 2 > total && !session.destroyed) {
        onTrip();
        session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
        session.destroy();
      }
    });
  });
}

/**
 * HCM `idle_timeout` for an HTTP/2 session: after `ms` without a frame either way, a session with
 * no open stream is sent GOAWAY and closed (Envoy counts a connection idle only while it has no
 * active stream; a quiet long-lived stream keeps it open). Node does not re-arm a session timer
 * that fired, so one that fired while streams were open is started again when the last one ends.
 */
export function closeWhenIdle(session: http2.ServerHttp2Session, ms: number): void {
  let open = 0;
  let firedWhileBusy = false;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    open++;
    stream.once('close', () => {
      if (--open === 0 && firedWhileBusy && !session.closed) {
        firedWhileBusy = false;
        session.setTimeout(ms);
      }
    });
  });
  session.on('timeout', () => {
    if (open > 0) firedWhileBusy = true;
    else if (!session.closed) session.close();
  });
  session.setTimeout(ms);
}
