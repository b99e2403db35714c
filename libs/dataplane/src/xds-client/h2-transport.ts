/**
 * ADS over gRPC (`envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources`,
 * a bidi stream) spoken directly over `node:http2` with the framing, status and session pieces of
 * `@tsmesh/core` (grpc-h2). grpc-js and proto-loader would add about 2.5–3 MB to a sidecar's RSS
 * for this one stream (issue #4, docs/proxy.md). Messages are coded with the protobufjs types of
 * `@tsmesh/protocol`: node metadata becomes a google.protobuf.Struct, resources are unpacked from
 * Any, and a resource that fails to decode is reported so the client NACKs the response.
 *
 * Like the grpc-js channel it replaces: 64 MiB largest message, a 16 MiB receive window, a PING
 * every 30 s (a session whose PING goes unacknowledged for 20 s is closed). Reconnecting is the
 * XdsClient's (jittered backoff); each `open` after a lost connection dials a new session.
 */
import http2 from 'node:http2';
import {
  connectGrpcSession,
  frameMessage,
  GrpcCallError,
  grpcStatusName,
  GrpcStatus,
  MessageDeframer,
  StatusReader,
} from '@tsmesh/core';
import { encode, lookupType, unpackAny, type WireAny } from '@tsmesh/protocol';
import type { AdsStream, AdsStreamHandlers, AdsTransport, DiscoveryRequest, DiscoveryResponse } from './types';

export const ADS_METHOD_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const REQUEST_TYPE = 'envoy.service.discovery.v3.DiscoveryRequest';
const RESPONSE_TYPE = 'envoy.service.discovery.v3.DiscoveryResponse';

/** The client's request as DiscoveryRequest bytes (node metadata: plain JSON → Struct). */
export function encodeDiscoveryRequest(req: DiscoveryRequest): Buffer {
  return encode(REQUEST_TYPE, req);
}

/** The fields of a decoded DiscoveryResponse this client reads (protobufjs message, snake_case). */
interface WireResponse {
  version_info: string;
  resources: WireAny[];
  type_url: string;
  nonce: string;
}

/**
 * DiscoveryResponse bytes → the client's shape, resources unpacked. Throws when the response
 * itself does not decode; a resource that does not decode is listed in `decodeErrors`.
 */
export function decodeDiscoveryResponse(bytes: Uint8Array): DiscoveryResponse {
  const res = lookupType(RESPONSE_TYPE).decode(bytes) as unknown as WireResponse;
  const resources: DiscoveryResponse['resources'] = [];
  const decodeErrors: string[] = [];
  (res.resources ?? []).forEach((any, i) => {
    try {
      resources.push(unpackAny(any));
    } catch (e) {
      decodeErrors.push(`resources[${i}]: cannot decode ${any.type_url}: ${(e as Error).message}`);
    }
  });
  return {
    version_info: res.version_info ?? '',
    type_url: res.type_url ?? '',
    nonce: res.nonce ?? '',
    resources,
    ...(decodeErrors.length ? { decodeErrors } : {}),
  };
}

export interface H2AdsTransportOptions {
  /** `host:port` of the ADS server (Pilot's 15010). */
  address: string;
  /** PEM root to verify the server over TLS; plaintext (h2c) when omitted. */
  rootCertPem?: string;
  /** Keepalive PING interval (default 30 s) and acknowledgement timeout (default 20 s). */
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
  /** Largest DiscoveryResponse accepted (default 64 MiB). */
  maxMessageBytes?: number;
}

const MiB = 1024 * 1024;

export class H2AdsTransport implements AdsTransport {
  private session: http2.ClientHttp2Session | null = null;
  /** Open streams: the session keeps the process alive only while there is one. */
  private openStreams = 0;
  private closed = false;

  constructor(private readonly o: H2AdsTransportOptions) {}

  private connected(): http2.ClientHttp2Session {
    const s = this.session;
    if (s && !s.closed && !s.destroyed) return s;
    const session = connectGrpcSession(this.o.address, {
      rootCertPem: this.o.rootCertPem,
      // A sidecar's route table push can be hundreds of KiB; with HTTP/2's default 64 KiB window
      // every such push waits for window updates. Envoy's own default for gRPC clusters is larger
      // still (256 MiB).
      windowBytes: 16 * MiB,
      keepaliveMs: this.o.keepaliveMs ?? 30_000,
      keepaliveTimeoutMs: this.o.keepaliveTimeoutMs ?? 20_000,
    });
    this.session = session;
    const drop = () => {
      if (this.session === session) this.session = null;
    };
    // The stream on it reports the error (through its own 'error' and 'close').
    session.on('error', drop);
    session.once('close', drop);
    // The server is going away: the open stream runs on until the server ends it; the next one
    // goes to a new session.
    session.once('goaway', () => {
      drop();
      if (!session.closed) session.close();
    });
    if (this.openStreams === 0) session.unref();
    return session;
  }

  open(handlers: AdsStreamHandlers): AdsStream {
    if (this.closed) throw new Error('ADS transport is closed');
    const session = this.connected();
    const peer = this.o.address;
    let reported = false;
    let cancelled = false;
    const end = (reason: string) => {
      if (reported) return;
      reported = true;
      handlers.onClose(reason);
    };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(
        { ':method': 'POST', ':path': ADS_METHOD_PATH, 'content-type': 'application/grpc', te: 'trailers' },
        { endStream: false },
      );
    } catch (e) {
      // the session went away between the check and the request: report it as the stream's end
      const reason = `UNAVAILABLE: ${peer}: ${(e as Error).message}`;
      setImmediate(() => end(reason));
      return { send: () => undefined, close: () => undefined };
    }
    if (this.openStreams++ === 0) session.ref();
    // A failure found here (a refused or undecodable message, a request that does not encode)
    // cancels the stream; the stream's 'close' reports it, never the call that found it.
    let failure: string | undefined;
    const fail = (err: GrpcCallError) => {
      failure ??= `${grpcStatusName(err.code)}: ${err.details}`;
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      else setImmediate(() => end(failure as string));
    };

    const status = new StatusReader();
    const deframer = new MessageDeframer(this.o.maxMessageBytes ?? 64 * MiB);
    stream.on('response', (h) => status.headers(h));
    stream.on('trailers', (h) => status.trailers(h));
    stream.on('data', (chunk: Buffer) => {
      if (failure !== undefined || reported || status.notGrpc) return;
      let messages: Buffer[];
      try {
        messages = deframer.push(chunk);
      } catch (e) {
        fail(e as GrpcCallError);
        return;
      }
      for (const m of messages) {
        let res: DiscoveryResponse;
        try {
          res = decodeDiscoveryResponse(m);
        } catch (e) {
          fail(new GrpcCallError(GrpcStatus.INTERNAL, `cannot decode a DiscoveryResponse: ${(e as Error).message}`));
          return;
        }
        handlers.onResponse(res);
        if (failure !== undefined || reported || cancelled) return;
      }
    });
    // The server ended its side (trailers, or a trailers-only response): the call is over, so
    // this side ends too and the stream closes (a gRPC call ends with the server's status).
    stream.on('end', () => {
      if (!stream.writableEnded && !stream.destroyed) stream.end();
    });
    stream.on('error', (e) => status.failed(e));
    stream.on('close', () => {
      if (--this.openStreams === 0 && !session.destroyed) session.unref();
      if (failure !== undefined) return end(failure);
      if (cancelled) return end('CANCELLED: stream cancelled by the client');
      const s = status.settle(stream, peer);
      end(s.code === GrpcStatus.OK ? 'stream ended by server' : `${grpcStatusName(s.code)}: ${s.details}`);
    });
    return {
      send: (req) => {
        if (failure !== undefined || reported || cancelled || stream.destroyed) return;
        let bytes: Buffer;
        try {
          bytes = encodeDiscoveryRequest(req);
        } catch (e) {
          fail(new GrpcCallError(GrpcStatus.INTERNAL, `cannot encode a DiscoveryRequest: ${(e as Error).message}`));
          return;
        }
        stream.write(frameMessage(bytes));
      },
      close: () => {
        if (reported || cancelled || failure !== undefined) return;
        cancelled = true;
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }

  close(): void {
    this.closed = true;
    const s = this.session;
    this.session = null;
    if (s && !s.closed) s.close();
  }
}
