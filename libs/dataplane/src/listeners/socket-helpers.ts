/**
 * Socket-level helpers for listeners: replaying peeked bytes to nghttp2/TLS, cached TLS
 * contexts, HTTP/2 rapid-reset protection, the HTTP/2 connection idle timeout and Envoy's
 * per-connection buffer limits (listener and cluster `per_connection_buffer_limit_bytes`).
 */
import { createHash } from 'node:crypto';
import type { FieldError } from '@tsmesh/core';
import http2 from 'node:http2';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { wrapped } from '../engine/types';
import type { ResolvedTls } from '../tls/context';

/** Envoy's default `per_connection_buffer_limit_bytes` (listeners and clusters): 1 MiB. */
export const DEFAULT_BUFFER_LIMIT_BYTES = 1024 * 1024;

/**
 * A `google.protobuf.UInt32Value` byte limit (`per_connection_buffer_limit_bytes`,
 * `per_request_buffer_limit_bytes`): undefined when unset; anything but an integer
 * 0..4294967295 is refused at `path`.
 */
export function parseBufferLimit(v: unknown, path: string, errors: FieldError[]): number | undefined {
  if (v === undefined || v === null) return undefined;
  const raw = wrapped<unknown>(v, 0);
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    errors.push({ path, message: 'must be an integer 0..4294967295 (bytes)' });
    return undefined;
  }
  return n;
}

interface StreamThresholds {
  _readableState?: { highWaterMark: number };
  _writableState?: { highWaterMark: number };
}

/**
 * A connection's soft buffer limit, as Envoy's per-connection watermarks: past `bytes` queued for
 * writing, `write()` returns false (the other side of the proxy stops reading until 'drain'), and
 * a paused socket stops reading from the kernel once `bytes` are buffered. Node takes these
 * thresholds only at construction (`highWaterMark`); a socket already accepted or connected gets
 * them set on its stream state. 0 (Envoy: no limit) and unset keep node's defaults.
 */
export function applyBufferLimit(socket: Duplex, bytes: number | undefined): void {
  if (!bytes) return;
  const s = socket as unknown as StreamThresholds;
  if (s._readableState) s._readableState.highWaterMark = bytes;
  if (s._writableState) s._writableState.highWaterMark = bytes;
}

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
