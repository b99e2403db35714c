/**
 * Per-request decisions the router makes before the first attempt, as plain functions over the
 * stream: redirect targets, the ring-hash key, the effective retry policy and body framing; and the
 * authority rewrite, which upgrades (upgrade.ts) share with the router.
 */
import { hash32 } from '../upstream/lb';
import type { Host } from '../upstream/host';
import type { ActiveStream } from './active-stream';
import type { HeaderMap } from './header-ops';
import { parseRetryOn, type RetryPolicy } from './retry-policy';
import type { RouteEntry } from './route-table';

export interface EffectiveRetry {
  on: ReadonlySet<string>;
  max: number;
  perTryMs: number;
  baseMs: number;
  maxMs: number;
  codes: ReadonlySet<number>;
  previousHosts: boolean;
}

/** First value of a header as a string. */
export function first(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? String(v[0]) : String(v);
}

/** Appends the original authority to x-forwarded-host unless it is already the last value (Envoy). */
export function appendForwardedHost(h: HeaderMap, authority: string): void {
  const cur = first(h['x-forwarded-host']);
  if (!cur) h['x-forwarded-host'] = authority;
  else if (cur.split(',').pop()?.trim() !== authority) h['x-forwarded-host'] = `${cur},${authority}`;
}

/**
 * The authority a request to `host` carries instead of the downstream one (Envoy's
 * host_rewrite_specifier): `host_rewrite_literal`, else with `auto_host_rewrite` the endpoint's
 * hostname (DNS name or EDS `hostname`); undefined when the downstream authority stays.
 */
export function rewrittenAuthority(route: RouteEntry, host: Host): string | undefined {
  if (route.hostRewrite) return route.hostRewrite;
  if (route.autoHostRewrite && host.hostname) return host.hostname;
  return undefined;
}

/** `Location` of a route redirect (scheme/host/port/path/prefix rewrite, strip_query). */
export function redirectLocation(s: ActiveStream, route: RouteEntry): string {
  const r = route.redirect as NonNullable<RouteEntry['redirect']>;
  const scheme = r.scheme ?? s.scheme;
  let host = r.host ?? s.authority.replace(/:\d+$/, '');
  const origPort = /:(\d+)$/.exec(s.authority)?.[1];
  const port = r.port ?? (r.host || r.scheme ? undefined : origPort ? Number(origPort) : undefined);
  if (port && !((scheme === 'http' && port === 80) || (scheme === 'https' && port === 443))) host += `:${port}`;
  let path = s.pathOnly;
  if (r.path) path = r.path;
  else if (r.prefixRewrite !== undefined && route.matchPrefix !== undefined)
    path = r.prefixRewrite + path.slice(route.matchPrefix.length);
  const q = r.stripQuery || (r.path && r.path.includes('?')) ? '' : s.query ? `?${s.query}` : '';
  return `${scheme}://${host}${path}${q}`;
}

/** 32-bit request hash from the route hash_policy list (RING_HASH), or undefined. */
export function computeHash(s: ActiveStream, route: RouteEntry): number | undefined {
  let acc: number | undefined;
  for (const p of route.hashPolicies) {
    let v: string | undefined;
    if (p.kind === 'header') v = first(s.headers[p.name]);
    else if (p.kind === 'source_ip') v = s.connection.remoteAddress;
    else if (p.kind === 'query') v = new URLSearchParams(s.query).get(p.name) ?? undefined;
    else {
      const cookies = first(s.headers['cookie']) ?? '';
      for (const part of cookies.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0 && part.slice(0, eq).trim() === p.name) v = part.slice(eq + 1).trim();
      }
    }
    if (v === undefined) continue;
    const hv = hash32(v);
    acc = acc === undefined ? hv : (((acc << 1) | (acc >>> 31)) ^ hv) >>> 0;
    if (p.terminal) break;
  }
  return acc;
}

/** The route retry policy merged with trusted `x-envoy-*` overrides (which are then removed). */
export function effectiveRetry(s: ActiveStream, p: RetryPolicy | null): EffectiveRetry | null {
  const h = s.headers;
  const trusted = s.trusted;
  // Router control headers, honoured from trusted clients and never forwarded. Named loads and
  // deletes: a loop over the names made each a megamorphic keyed access.
  const on0 = h['x-envoy-retry-on'];
  const grpcOn0 = h['x-envoy-retry-grpc-on'];
  const max0 = h['x-envoy-max-retries'];
  const perTry0 = h['x-envoy-upstream-rq-per-try-timeout-ms'];
  const hdrOn = trusted ? first(on0) : undefined;
  const hdrGrpcOn = trusted ? first(grpcOn0) : undefined;
  const hdrMax = trusted ? first(max0) : undefined;
  const hdrPerTry = trusted ? Number(first(perTry0)) : NaN;
  // Deleting a name that is not there still costs a runtime call: look first.
  if (on0 !== undefined) delete h['x-envoy-retry-on'];
  if (grpcOn0 !== undefined) delete h['x-envoy-retry-grpc-on'];
  if (max0 !== undefined) delete h['x-envoy-max-retries'];
  if (h['x-envoy-upstream-rq-timeout-ms'] !== undefined) delete h['x-envoy-upstream-rq-timeout-ms'];
  if (perTry0 !== undefined) delete h['x-envoy-upstream-rq-per-try-timeout-ms'];
  if (!p && !hdrOn && !hdrGrpcOn) return null;
  const on = new Set<string>(p?.retryOn ?? []);
  if (hdrOn) for (const v of parseRetryOn(hdrOn)) on.add(v);
  if (hdrGrpcOn) for (const v of parseRetryOn(hdrGrpcOn)) on.add(v);
  const max = hdrMax !== undefined && /^\d+$/.test(hdrMax) ? Number(hdrMax) : (p?.numRetries ?? 1);
  let perTry = p?.perTryTimeoutMs ?? 0;
  if (hdrPerTry >= 0) perTry = hdrPerTry;
  if (on.size === 0 || max <= 0) return null;
  return {
    on,
    max,
    perTryMs: perTry,
    baseMs: p?.baseIntervalMs ?? 25,
    maxMs: p?.maxIntervalMs ?? 250,
    codes: p?.retriableStatusCodes ?? new Set(),
    previousHosts: p?.previousHosts ?? true,
  };
}

/** Body framing for the upstream request, from what the downstream declared. */
export function bodyFraming(s: ActiveStream): 'none' | 'length' | 'chunked' {
  if (s.headers['content-length'] !== undefined) return 'length';
  if (s.req.headers['transfer-encoding'] !== undefined) return 'chunked';
  if (s.info.protocol === 'HTTP/2') {
    const stream = (s.req as { stream?: { endAfterHeaders?: boolean } }).stream;
    return stream?.endAfterHeaders ? 'none' : 'chunked';
  }
  return 'none';
}
