/**
 * Reading a connection's first bytes before a filter chain is chosen (Envoy's listener filters):
 * with `inspect` the whole TLS ClientHello (tls_inspector), bounded by
 * {@link MAX_CLIENT_HELLO_BYTES} and by `listener_filters_timeout`.
 */
import type net from 'node:net';
import type { Clock } from '@tsmesh/core';
import { looksLikeTls, MAX_CLIENT_HELLO_BYTES, parseClientHello, type ClientHelloResult } from './client-hello';

/** Envoy's default `listener_filters_timeout`. */
export const LISTENER_FILTERS_TIMEOUT_MS = 15000;

export interface PeekOptions {
  /** Read the whole ClientHello (SNI/ALPN), not just the first chunk. */
  inspect: boolean;
  /** `listener_filters_timeout` (ms; 0 = none); only while inspecting. */
  timeoutMs?: number;
  /** `continue_on_listener_filters_timeout`: on timeout hand on what was read instead of closing. */
  continueOnTimeout?: boolean;
}

/**
 * Reads without consuming (the caller unshifts what `done` gets). A connection that ends before
 * sending anything, or times out without `continueOnTimeout`, is destroyed and `done` never runs.
 */
export function peekConnection(
  socket: net.Socket,
  clock: Clock,
  opts: PeekOptions,
  done: (peeked: Buffer, hello?: ClientHelloResult) => void,
): void {
  const parts: Buffer[] = [];
  let size = 0;
  let finished = false;
  const timeoutMs = opts.timeoutMs ?? LISTENER_FILTERS_TIMEOUT_MS;
  const onTimeout = (): void => {
    if (!opts.continueOnTimeout) {
      finish();
      return void socket.destroy();
    }
    const buf = finish();
    done(buf, buf.length && looksLikeTls(buf) ? { kind: 'malformed' } : undefined);
  };
  const timer = opts.inspect && timeoutMs > 0 ? clock.setTimeout(onTimeout, timeoutMs) : undefined;
  const finish = (): Buffer => {
    finished = true;
    timer?.cancel();
    socket.off('readable', onReadable);
    socket.off('end', onEnd);
    socket.off('close', onClose);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  };
  const evaluate = (eof: boolean): void => {
    if (finished || size === 0) return;
    const buf = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    if (!opts.inspect || !looksLikeTls(buf)) return done(finish());
    const hello = parseClientHello(buf);
    if (hello.kind === 'need-more' && !eof && size < MAX_CLIENT_HELLO_BYTES) return;
    done(finish(), hello.kind === 'need-more' ? { kind: 'malformed' } : hello);
  };
  const onReadable = (): void => {
    let c: Buffer | null;
    while (!finished && (c = socket.read() as Buffer | null) !== null) {
      parts.push(c);
      size += c.length;
      evaluate(false);
    }
  };
  const onEnd = (): void => {
    if (size === 0) {
      finish();
      return void socket.destroy();
    }
    evaluate(true);
  };
  const onClose = (): void => void (finished || finish());
  socket.on('readable', onReadable);
  socket.once('end', onEnd);
  socket.once('close', onClose);
}
