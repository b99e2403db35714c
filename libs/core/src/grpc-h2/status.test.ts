import http2 from 'node:http2';
import { GrpcStatus } from '../errors';
import {
  decodeGrpcMessage,
  GrpcCallError,
  grpcStatusName,
  statusOfHttp,
  statusOfRstCode,
  StatusReader,
  type CallStatus,
} from './status';

const PEER = '127.0.0.1:15010';
/** What `settle` reads of a stream: its RST_STREAM code. */
const closedStream = (rstCode = 0) => ({ rstCode }) as unknown as http2.ClientHttp2Stream;
/** Response headers as node:http2 gives them (`:status` a number). */
const h = (o: Record<string, string | number>) => o as unknown as http2.IncomingHttpHeaders;
const ok = { ':status': 200, 'content-type': 'application/grpc' };

function settle(steps: (r: StatusReader) => void, rstCode = 0): CallStatus {
  const r = new StatusReader();
  steps(r);
  return r.settle(closedStream(rstCode), PEER);
}

test('status names and the error grpc-js callers expect', () => {
  expect(grpcStatusName(14)).toBe('UNAVAILABLE');
  expect(grpcStatusName(0)).toBe('OK');
  expect(grpcStatusName(99)).toBe('99');
  const e = new GrpcCallError(7, 'no');
  expect(e).toMatchObject({ code: 7, details: 'no', message: '7 PERMISSION_DENIED: no' });
});

test('grpc-message is percent-decoded as UTF-8; a malformed escape is kept as sent', () => {
  expect(decodeGrpcMessage('denied: 100%25 %C3%BCn%C3%AFcode')).toBe('denied: 100% ünïcode');
  expect(decodeGrpcMessage('plain text')).toBe('plain text');
  expect(decodeGrpcMessage('50% off %C3%BC')).toBe('50% off ü');
  expect(decodeGrpcMessage(undefined)).toBe('');
});

test('HTTP status and RST_STREAM code mappings of the gRPC HTTP/2 spec', () => {
  expect(statusOfHttp(400)).toBe(GrpcStatus.INTERNAL);
  expect(statusOfHttp(401)).toBe(GrpcStatus.UNAUTHENTICATED);
  expect(statusOfHttp(403)).toBe(GrpcStatus.PERMISSION_DENIED);
  expect(statusOfHttp(404)).toBe(GrpcStatus.UNIMPLEMENTED);
  for (const s of [429, 502, 503, 504]) expect(statusOfHttp(s)).toBe(GrpcStatus.UNAVAILABLE);
  expect(statusOfHttp(500)).toBe(GrpcStatus.UNKNOWN);
  const c = http2.constants;
  expect(statusOfRstCode(c.NGHTTP2_REFUSED_STREAM)).toBe(GrpcStatus.UNAVAILABLE);
  expect(statusOfRstCode(c.NGHTTP2_CANCEL)).toBe(GrpcStatus.CANCELLED);
  expect(statusOfRstCode(c.NGHTTP2_ENHANCE_YOUR_CALM)).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
  expect(statusOfRstCode(c.NGHTTP2_INADEQUATE_SECURITY)).toBe(GrpcStatus.PERMISSION_DENIED);
  expect(statusOfRstCode(c.NGHTTP2_PROTOCOL_ERROR)).toBe(GrpcStatus.INTERNAL);
});

test('the status comes from the trailers, or from the headers of a trailers-only response', () => {
  expect(
    settle((r) => {
      r.headers(h(ok));
      r.trailers({ 'grpc-status': '0' });
    }),
  ).toEqual({ code: 0, details: '' });
  expect(
    settle((r) => {
      r.headers(h(ok));
      r.trailers({ 'grpc-status': '7', 'grpc-message': 'not%20you' });
    }),
  ).toEqual({ code: 7, details: 'not you' });
  expect(settle((r) => r.headers(h({ ...ok, 'grpc-status': '12', 'grpc-message': 'no such method' })))).toEqual({
    code: 12,
    details: 'no such method',
  });
});

test('a status the server sent wins over a reset or an error that came after it', () => {
  const s = settle((r) => {
    r.headers(h(ok));
    r.trailers({ 'grpc-status': '8', 'grpc-message': 'too big' });
    r.failed(
      Object.assign(new Error('Stream closed with error code NGHTTP2_CANCEL'), { code: 'ERR_HTTP2_STREAM_ERROR' }),
    );
  }, http2.constants.NGHTTP2_CANCEL);
  expect(s).toEqual({ code: 8, details: 'too big' });
});

test('a non-200 HTTP status maps; another content-type is UNKNOWN; a malformed grpc-status is UNKNOWN', () => {
  const r503 = new StatusReader();
  r503.headers(h({ ':status': 503, 'content-type': 'text/plain' }));
  expect(r503.notGrpc).toBe(true);
  expect(r503.settle(closedStream(), PEER)).toEqual({
    code: GrpcStatus.UNAVAILABLE,
    details: `HTTP status 503 from ${PEER}`,
  });
  const html = settle((r) => r.headers(h({ ':status': 200, 'content-type': 'text/html' })));
  expect(html.code).toBe(GrpcStatus.UNKNOWN);
  expect(html.details).toMatch(/text\/html/);
  expect(settle((r) => r.headers(h({ ...ok, 'grpc-status': 'x' })))).toEqual({
    code: GrpcStatus.UNKNOWN,
    details: 'grpc-status x',
  });
});

test('without a status: the connection error (or its cause), the reset code, or INTERNAL', () => {
  // a stream pending on a session that could not connect
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:15010'), { code: 'ECONNREFUSED' });
  const pending = Object.assign(new Error('The pending stream has been canceled'), { cause: refused });
  expect(settle((r) => r.failed(pending))).toEqual({
    code: GrpcStatus.UNAVAILABLE,
    details: `${PEER}: connect ECONNREFUSED 127.0.0.1:15010`,
  });
  // the server reset the stream
  const reset = Object.assign(new Error('Stream closed with error code NGHTTP2_REFUSED_STREAM'), {
    code: 'ERR_HTTP2_STREAM_ERROR',
  });
  expect(settle((r) => r.failed(reset), http2.constants.NGHTTP2_REFUSED_STREAM).code).toBe(GrpcStatus.UNAVAILABLE);
  // the connection broke mid-stream
  expect(
    settle((r) => {
      r.headers(h(ok));
      r.failed(new Error('read ECONNRESET'));
    }, http2.constants.NGHTTP2_INTERNAL_ERROR),
  ).toEqual({ code: GrpcStatus.UNAVAILABLE, details: `${PEER}: read ECONNRESET` });
  // closed without a word, before or after the response headers (node marks the stream CANCEL)
  const gone = { code: GrpcStatus.UNAVAILABLE, details: `connection to ${PEER} closed` };
  expect(settle(() => undefined, http2.constants.NGHTTP2_CANCEL)).toEqual(gone);
  expect(settle((r) => r.headers(h(ok)), http2.constants.NGHTTP2_CANCEL)).toEqual(gone);
  expect(settle((r) => r.headers(h(ok))).code).toBe(GrpcStatus.INTERNAL);
});
