import type { ActiveStream } from './active-stream';
import { applyResponseOps, type HeaderMap, type HeaderOps } from './header-ops';
import type { RouteEntry } from './route-table';
import type { UpstreamResponseHead } from '../upstream/pool';

const RESPONSE_HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * Sends the chosen upstream response downstream: hop-by-hop headers dropped,
 * `x-envoy-upstream-service-time` added, header edits and filter hooks applied, the body streamed
 * with back-pressure, trailers forwarded (gRPC trailers-only answers stay trailers-only).
 */
export function forwardResponse(
  s: ActiveStream,
  head: UpstreamResponseHead,
  latency: number,
  clusterOps: HeaderOps | null,
  finish: () => void,
): void {
  const res = s.res;
  const route = s.route as RouteEntry;
  const headers: HeaderMap = {};
  const src = head.headers;
  for (const k in src) if (!RESPONSE_HOP_BY_HOP.has(k)) headers[k] = src[k];
  headers['x-envoy-upstream-service-time'] = String(Math.round(latency));
  if (s.info.protocol === 'HTTP/2') delete headers['content-length'];
  applyResponseOps(headers, route.headerOps);
  if (clusterOps) applyResponseOps(headers, clusterOps);
  const view = { status: head.status, headers };
  for (let i = s.filters.length - 1; i >= 0; i--) s.filters[i].onResponse?.(s, view);
  s.responseStarted = true;
  s.info.responseCode = view.status;
  s.info.responseStart = s.cm.runtime.clock.monotonic() - s.info.startMono;
  if (s.isGrpc && src['grpc-status'] !== undefined) s.info.grpcStatus = Number(src['grpc-status']);
  const h2stream = (res as { stream?: import('node:http2').ServerHttp2Stream }).stream;
  if (s.isGrpc && h2stream && src['grpc-status'] !== undefined) {
    // Trailers-only upstream answer stays trailers-only (grpc-status in the one HEADERS frame).
    head.body.resume();
    finish();
    try {
      h2stream.respond({ ':status': view.status, ...(headers as Record<string, string>) }, { endStream: true });
    } catch {
      res.destroy();
    }
    return;
  }
  try {
    res.writeHead(view.status, headers as Record<string, string>);
  } catch (e) {
    s.cm.runtime.logger.warn({ err: String(e) }, 'invalid upstream response headers');
    head.body.destroy();
    finish();
    res.destroy();
    return;
  }
  const body = head.body;
  const out = res as import('node:http').ServerResponse;
  body.on('data', (c: Buffer) => {
    s.info.bytesSent += c.length;
    if (!out.write(c)) {
      body.pause();
      res.once('drain', () => body.resume());
    }
  });
  head.onTrailers((trailers) => {
    if (trailers['grpc-status'] !== undefined) {
      s.info.grpcStatus = Number(trailers['grpc-status']);
    }
    // HTTP/2 (compat API) sends them as a trailing HEADERS frame; HTTP/1.1 in the last chunk.
    if (hasFields(trailers)) res.addTrailers(trailers as Record<string, string>);
    finish();
    res.end();
  });
  // A body fails at most once ('on': no once-wrapper per response).
  body.on('error', () => {
    finish();
    res.destroy();
  });
}

/** Whether `h` has at least one field (no key array allocated). */
function hasFields(h: object): boolean {
  for (const k in h) if (Object.prototype.hasOwnProperty.call(h, k)) return true;
  return false;
}
