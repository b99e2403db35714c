/**
 * Unary gRPC calls over one `node:http2` session (the gRPC-over-HTTP/2 wire form: a 5-byte
 * length-prefixed message, `grpc-timeout`, the status in the trailers or in a trailers-only
 * response). The mixer filter's Check is on the request path, and a grpc-js unary call costs
 * about 100–150 µs more than the same request made directly on `node:http2` (docs/performance.md,
 * Mixer section), so Check and Report go through this small client. What it does not do, because
 * a Mixer call does not need it: streaming, compression (it sends no `grpc-accept-encoding`, so a
 * server does not compress), metadata, name resolution beyond `host:port`.
 *
 * Connection handling follows grpc-js's channel for calls that do not wait for readiness: a
 * session is opened on first use; while it cannot connect, calls fail at once with UNAVAILABLE
 * and the next attempt waits a backoff (100 ms doubling to 1 s); a closed or GOAWAY'd session is
 * replaced on the next call.
 */
import http2 from 'node:http2';
import { GrpcStatus } from '@tsmesh/core';

export class UnaryCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 1000;

/** gRPC status for an HTTP status that is not 200 (the gRPC HTTP/2 spec's mapping). */
function statusOfHttp(status: number): number {
  switch (status) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

function decodeMessage(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export class H2UnaryClient {
  private session: http2.ClientHttp2Session | null = null;
  /** While connecting fails: no new attempt before this time (ms since epoch). */
  private retryAt = 0;
  private backoffMs = MIN_BACKOFF_MS;
  private closed = false;

  constructor(readonly address: string) {}

  private connected(): http2.ClientHttp2Session | null {
    const s = this.session;
    if (s && !s.closed && !s.destroyed) return s;
    if (this.closed || Date.now() < this.retryAt) return null;
    const session = http2.connect(`http://${this.address}`);
    session.unref(); // a Mixer session never keeps the proxy alive
    this.session = session;
    session.once('connect', () => {
      this.backoffMs = MIN_BACKOFF_MS;
    });
    const drop = () => {
      if (this.session === session) this.session = null;
    };
    session.on('error', () => {
      // connect refused or reset: the calls on it fail through their streams; back off
      this.retryAt = Date.now() + this.backoffMs;
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
      drop();
    });
    session.once('goaway', drop);
    session.once('close', drop);
    return session;
  }

  /** Sends `message` to `path`; resolves with the response message bytes. */
  call(path: string, message: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const session = this.connected();
      if (!session) {
        reject(new UnaryCallError(GrpcStatus.UNAVAILABLE, `no connection to ${this.address}`));
        return;
      }
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request({
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
        });
      } catch (e) {
        reject(new UnaryCallError(GrpcStatus.UNAVAILABLE, (e as Error).message));
        return;
      }
      let settled = false;
      const finish = (err: UnaryCallError | null, res?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(res as Buffer);
      };
      const timer = setTimeout(() => {
        finish(new UnaryCallError(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded'));
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }, timeoutMs);

      let httpStatus = 0;
      let grpcStatus: number | undefined;
      let grpcMessage = '';
      const chunks: Buffer[] = [];
      const readStatus = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] !== undefined) {
          grpcStatus = Number(h['grpc-status']);
          grpcMessage = decodeMessage(h['grpc-message']);
        }
      };
      stream.on('response', (h) => {
        httpStatus = Number(h[':status']);
        readStatus(h); // a trailers-only response carries the status here
      });
      stream.on('trailers', readStatus);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e) => finish(new UnaryCallError(GrpcStatus.UNAVAILABLE, e.message)));
      stream.on('close', () => {
        if (settled) return;
        if (httpStatus !== 200) {
          finish(
            new UnaryCallError(
              httpStatus ? statusOfHttp(httpStatus) : GrpcStatus.UNAVAILABLE,
              httpStatus ? `HTTP status ${httpStatus}` : `connection to ${this.address} closed`,
            ),
          );
          return;
        }
        if (grpcStatus === undefined) {
          finish(new UnaryCallError(GrpcStatus.UNKNOWN, 'response without grpc-status'));
          return;
        }
        if (grpcStatus !== GrpcStatus.OK) {
          finish(new UnaryCallError(grpcStatus, grpcMessage));
          return;
        }
        const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        if (body.length < 5 || body[0] !== 0) {
          finish(new UnaryCallError(GrpcStatus.INTERNAL, 'malformed or compressed response message'));
          return;
        }
        const len = body.readUInt32BE(1);
        if (body.length !== 5 + len) {
          finish(
            new UnaryCallError(GrpcStatus.INTERNAL, `response message of ${body.length - 5} bytes, ${len} announced`),
          );
          return;
        }
        finish(null, body.subarray(5));
      });
      const framed = Buffer.allocUnsafe(5 + message.length);
      framed[0] = 0; // not compressed
      framed.writeUInt32BE(message.length, 1);
      message.copy(framed, 5);
      stream.end(framed);
    });
  }

  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = null;
  }
}
