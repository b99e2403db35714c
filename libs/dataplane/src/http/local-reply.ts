/**
 * The one place a listener turns a response flag into what the client sees (Envoy's local
 * replies): bodies as Envoy writes them, and for gRPC requests a trailers-only response with
 * `grpc-status` mapped from the HTTP status (Envoy's `Grpc::Utility::httpToGrpcStatus`).
 */
import type { LocalReply } from '../filters/types';
import type { ResponseFlag } from './stream-info';

export const LOCAL_REPLY_BODIES: Partial<Record<ResponseFlag, { status: number; body: string }>> = {
  UH: { status: 503, body: 'no healthy upstream' },
  UF: {
    status: 503,
    body: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
  },
  UC: {
    status: 503,
    body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
  },
  UR: { status: 503, body: 'upstream connect error or disconnect/reset before headers. reset reason: remote reset' },
  UO: { status: 503, body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow' },
  UT: { status: 504, body: 'upstream request timeout' },
  NR: { status: 404, body: '' },
  NC: { status: 503, body: '' },
  RL: { status: 429, body: '' },
  UAEX: { status: 403, body: '' },
};

/** Local reply for a data-plane failure flag. */
export function replyFor(flag: ResponseFlag, extra?: Partial<LocalReply>): LocalReply {
  const d = LOCAL_REPLY_BODIES[flag] ?? { status: 500, body: '' };
  return { status: d.status, body: d.body, flag, ...extra };
}

/** HTTP status → gRPC status, as Envoy maps local replies for gRPC clients. */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

/** gRPC status → HTTP status for gRPC responses seen by HTTP-level stats (grpc-status in trailers). */
export function grpcToHttpStatus(grpc: number): number {
  switch (grpc) {
    case 0:
      return 200;
    case 1:
      return 499;
    case 3:
    case 9:
    case 11:
      return 400;
    case 4:
      return 504;
    case 5:
    case 12:
      return 404;
    case 7:
      return 403;
    case 8:
      return 429;
    case 14:
      return 503;
    case 16:
      return 401;
    default:
      return 500;
  }
}

/** `grpc-timeout` header (e.g. `100m`, `5S`) in ms; undefined when absent or malformed. */
export function parseGrpcTimeout(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit: Record<string, number> = { H: 3600000, M: 60000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
  return n * unit[m[2]];
}
