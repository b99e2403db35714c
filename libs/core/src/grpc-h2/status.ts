/**
 * How a gRPC call over HTTP/2 ends, as the gRPC HTTP/2 protocol spec (PROTOCOL-HTTP2.md) defines
 * it: the status is `grpc-status` / `grpc-message` in the trailers, or in the headers of a
 * trailers-only response; without them the HTTP status, the stream's RST_STREAM code or the
 * connection's error decide it.
 */
import http2 from 'node:http2';
import { GrpcStatus } from '../errors';

const NAMES: readonly string[] = Object.entries(GrpcStatus)
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name);

/** `UNAVAILABLE` for 14; the number itself for a code outside google.rpc.Code. */
export function grpcStatusName(code: number): string {
  return NAMES[code] ?? String(code);
}

/** A call that ended with a status other than OK; `code` and `details` as grpc-js's ServiceError has them. */
export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${grpcStatusName(code)}: ${details}`);
  }
}

/** The gRPC status for a response whose HTTP status is not 200 (the spec's mapping). */
export function statusOfHttp(status: number): number {
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

/** The gRPC status for a stream the server reset without a status (the spec's RST_STREAM mapping). */
export function statusOfRstCode(code: number): number {
  const c = http2.constants;
  switch (code) {
    case c.NGHTTP2_REFUSED_STREAM:
      return GrpcStatus.UNAVAILABLE;
    case c.NGHTTP2_CANCEL:
      return GrpcStatus.CANCELLED;
    case c.NGHTTP2_ENHANCE_YOUR_CALM:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case c.NGHTTP2_INADEQUATE_SECURITY:
      return GrpcStatus.PERMISSION_DENIED;
    default:
      return GrpcStatus.INTERNAL;
  }
}

/**
 * `grpc-message` is percent-encoded (spec: any byte outside 0x20-0x7E, and `%` itself, as `%XX`
 * of its UTF-8 bytes). A malformed escape is kept as it stands rather than losing the message.
 */
export function decodeGrpcMessage(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

export interface CallStatus {
  code: number;
  details: string;
}

/**
 * Collects what the response of one stream says about its status and settles the status once
 * the stream has closed. Feed it the response headers, the trailers and the stream's error.
 */
export class StatusReader {
  private httpStatus = 0;
  private contentType = '';
  private status: CallStatus | undefined;
  private error: Error | undefined;

  /** The response headers; a trailers-only response carries the status here. */
  headers(h: http2.IncomingHttpHeaders): void {
    this.httpStatus = Number(h[':status']) || 0;
    this.contentType = String(h['content-type'] ?? '');
    this.trailers(h);
  }

  trailers(h: http2.IncomingHttpHeaders): void {
    const raw = h['grpc-status'];
    if (raw === undefined) return;
    const code = Number(raw);
    this.status = {
      code: Number.isInteger(code) && code >= 0 ? code : GrpcStatus.UNKNOWN,
      details: Number.isInteger(code) && code >= 0 ? decodeGrpcMessage(h['grpc-message']) : `grpc-status ${raw}`,
    };
  }

  /** The stream's (or its session's) error; the first one is kept. */
  failed(e: Error): void {
    this.error ??= e;
  }

  /** Whether the response headers say the body is not gRPC messages (not 200, or another content-type). */
  get notGrpc(): boolean {
    return this.httpStatus !== 0 && (this.httpStatus !== 200 || !this.contentType.startsWith('application/grpc'));
  }

  /**
   * The call's status once the stream has closed: the server's when it sent one (even when the
   * stream was reset after it), else what the HTTP status, the reset code or the error imply.
   * `peer` names the server in the message of a connection failure.
   */
  settle(stream: http2.ClientHttp2Stream, peer: string): CallStatus {
    if (this.httpStatus && this.httpStatus !== 200)
      return { code: statusOfHttp(this.httpStatus), details: `HTTP status ${this.httpStatus} from ${peer}` };
    if (this.status) return this.status;
    if (this.httpStatus && !this.contentType.startsWith('application/grpc'))
      return { code: GrpcStatus.UNKNOWN, details: `response content-type "${this.contentType}" is not gRPC` };
    const rst = stream.rstCode ?? 0;
    const reset = (code: number) => ({
      code: statusOfRstCode(code),
      details: `stream reset by ${peer} (HTTP/2 error code ${code})`,
    });
    if (this.error) {
      // The peer's RST_STREAM surfaces as this error; its code is the stream's rstCode.
      if ((this.error as { code?: string }).code === 'ERR_HTTP2_STREAM_ERROR' && rst !== 0) return reset(rst);
      // A pending stream of a session that failed to connect carries the session's error as `cause`.
      const cause = (this.error as { cause?: unknown }).cause;
      const e = cause instanceof Error ? cause : this.error;
      return { code: GrpcStatus.UNAVAILABLE, details: `${peer}: ${e.message}` };
    }
    // Without an error, a stream of a session that closed under it ends as CANCEL (node sets it).
    if (!this.httpStatus || rst === http2.constants.NGHTTP2_CANCEL)
      return { code: GrpcStatus.UNAVAILABLE, details: `connection to ${peer} closed` };
    if (rst !== 0) return reset(rst);
    return { code: GrpcStatus.INTERNAL, details: `response from ${peer} ended without grpc-status` };
  }
}
