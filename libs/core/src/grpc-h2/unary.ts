/**
 * Unary gRPC calls over one `node:http2` session (the gRPC-over-HTTP/2 wire form: a 5-byte
 * length-prefixed message, `grpc-timeout`, the status in the trailers or in a trailers-only
 * response). The sidecar's Mixer client (Check is on the request path: a grpc-js unary call costs
 * about 100–150 µs more than the same request made directly on `node:http2`, docs/performance.md)
 * and its Citadel CSR client (so that a sidecar does not load grpc-js at all, docs/proxy.md) use
 * it. What it does not do, because neither needs it: compression (it sends no
 * `grpc-accept-encoding`, so a server does not compress), response metadata, name resolution
 * beyond `host:port`, retries (callers decide).
 *
 * Connection handling follows grpc-js's channel for calls that do not wait for readiness: a
 * session is opened on first use; while it cannot connect, calls fail at once with UNAVAILABLE
 * and the next attempt waits a backoff (100 ms doubling to 1 s); a closed or GOAWAY'd session is
 * replaced on the next call. The session never keeps the process alive by itself (a call's
 * deadline timer does while the call runs).
 */
import http2 from 'node:http2';
import { GrpcStatus } from '../errors';
import { frameMessage, MessageDeframer } from './framing';
import { connectGrpcSession, type GrpcSessionOptions } from './session';
import { GrpcCallError, StatusReader } from './status';

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 1000;

/** `grpc-timeout` for `ms`: at most 8 digits (the spec's TimeoutValue), in the finest unit that fits. */
export function grpcTimeout(ms: number): string {
  const v = Math.max(1, Math.ceil(ms));
  if (v < 1e8) return `${v}m`;
  if (v / 1000 < 1e8) return `${Math.ceil(v / 1000)}S`;
  return `${Math.min(99_999_999, Math.ceil(v / 3_600_000))}H`;
}

export interface UnaryClientOptions extends GrpcSessionOptions {
  /** Largest response message accepted (default 4 MiB, grpc-js's default). */
  maxResponseBytes?: number;
  /**
   * Closes the session once no call has been in flight for this long (default: kept open). For
   * rare calls (a CSR every certificate lifetime) a connection kept between them only holds
   * memory and may have died unnoticed by the next call.
   */
  idleTimeoutMs?: number;
}

export class H2UnaryClient {
  private session: http2.ClientHttp2Session | null = null;
  /** While connecting fails: no new attempt before this time (ms since epoch). */
  private retryAt = 0;
  private backoffMs = MIN_BACKOFF_MS;
  private closed = false;
  /** Calls whose stream is open. */
  private active = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly address: string,
    private readonly options: UnaryClientOptions = {},
  ) {}

  private connected(): http2.ClientHttp2Session | null {
    const s = this.session;
    if (s && !s.closed && !s.destroyed) return s;
    if (this.closed || Date.now() < this.retryAt) return null;
    const session = connectGrpcSession(this.address, this.options);
    session.unref();
    this.session = session;
    session.once('connect', () => {
      this.backoffMs = MIN_BACKOFF_MS;
    });
    const drop = () => {
      if (this.session === session) this.session = null;
    };
    session.on('error', () => {
      // connect refused, reset or TLS failure: the calls on it fail through their streams; back off
      this.retryAt = Date.now() + this.backoffMs;
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
      drop();
    });
    session.once('goaway', drop);
    session.once('close', drop);
    return session;
  }

  /**
   * Sends `message` to `path` (`/package.Service/Method`) with `metadata` as extra request
   * headers; resolves with the response message bytes, rejects with a GrpcCallError.
   */
  call(path: string, message: Uint8Array, timeoutMs: number, metadata?: Record<string, string>): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const session = this.connected();
      if (!session) {
        reject(new GrpcCallError(GrpcStatus.UNAVAILABLE, `no connection to ${this.address}`));
        return;
      }
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request({
          ...metadata,
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': grpcTimeout(timeoutMs),
        });
      } catch (e) {
        reject(new GrpcCallError(GrpcStatus.UNAVAILABLE, (e as Error).message));
        return;
      }
      this.active++;
      clearTimeout(this.idleTimer);
      let settled = false;
      const finish = (err: GrpcCallError | null, res?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(res as Buffer);
      };
      const timer = setTimeout(
        () => {
          finish(new GrpcCallError(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded'));
          stream.close(http2.constants.NGHTTP2_CANCEL);
        },
        Math.min(timeoutMs, 2 ** 31 - 1),
      );

      const status = new StatusReader();
      const deframer = new MessageDeframer(this.options.maxResponseBytes);
      const messages: Buffer[] = [];
      stream.on('response', (h) => status.headers(h));
      stream.on('trailers', (h) => status.trailers(h));
      stream.on('data', (chunk: Buffer) => {
        if (settled || status.notGrpc) return;
        try {
          for (const m of deframer.push(chunk)) messages.push(m);
        } catch (e) {
          finish(e as GrpcCallError);
          stream.close(http2.constants.NGHTTP2_CANCEL);
        }
      });
      stream.on('error', (e) => status.failed(e));
      stream.on('close', () => {
        if (--this.active === 0) this.idleSoon(session);
        if (settled) return;
        const s = status.settle(stream, this.address);
        if (s.code !== GrpcStatus.OK) finish(new GrpcCallError(s.code, s.details));
        else if (messages.length !== 1 || deframer.pending)
          finish(
            new GrpcCallError(
              GrpcStatus.INTERNAL,
              deframer.pending
                ? 'response ended inside a message'
                : `${messages.length} response messages to a unary call`,
            ),
          );
        else finish(null, messages[0]);
      });
      stream.end(frameMessage(message));
    });
  }

  /** Starts the idle timer of `session` (when the option is set). */
  private idleSoon(session: http2.ClientHttp2Session): void {
    const ms = this.options.idleTimeoutMs;
    if (!ms) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.active > 0 || this.session !== session) return;
      this.session = null;
      session.close();
    }, ms);
    this.idleTimer.unref();
  }

  close(): void {
    clearTimeout(this.idleTimer);
    this.closed = true;
    this.session?.close();
    this.session = null;
  }
}
