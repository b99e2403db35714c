/**
 * A tiny router that walks generated RouteConfigurations the way Envoy does
 * (virtual host by domain, first matching route), so tests say "a request to
 * reviews:9080 with end-user: jason goes to outbound|9080|v2|reviews...".
 */
import { RE2JS } from 're2js';
import type { Msg } from '../configgen/names';

export interface SimRequest {
  authority: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
}

export interface SimResult {
  virtualHost: string;
  route: Msg;
  /** The single cluster, or the weighted list. */
  cluster?: string;
  weighted?: { name: string; weight: number }[];
  redirect?: Msg;
  directResponse?: Msg;
}

function domainMatches(domain: string, host: string): number {
  if (domain === host) return 4;
  if (domain === '*') return 1;
  if (domain.startsWith('*') && host.endsWith(domain.slice(1))) return 3;
  if (domain.endsWith('*') && host.startsWith(domain.slice(0, -1))) return 2;
  return 0;
}

function stringMatch(sm: Msg, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (typeof sm['exact'] === 'string') return value === sm['exact'];
  if (typeof sm['prefix'] === 'string') return value.startsWith(sm['prefix']);
  if (typeof sm['suffix'] === 'string') return value.endsWith(sm['suffix']);
  const re = sm['safe_regex'] as Msg | undefined;
  if (re) return RE2JS.compile(String(re['regex'])).matches(value);
  return false;
}

function routeMatches(match: Msg, req: SimRequest): boolean {
  const full = req.path ?? '/';
  const q = full.indexOf('?');
  const path = q >= 0 ? full.slice(0, q) : full;
  const query = new URLSearchParams(q >= 0 ? full.slice(q + 1) : '');
  // Envoy: a `connect_matcher` route takes only CONNECT, and no other route takes CONNECT.
  if (!!match['connect_matcher'] !== ((req.method ?? 'GET') === 'CONNECT')) return false;
  const cs = match['case_sensitive'] !== false;
  const p = cs ? path : path.toLowerCase();
  const norm = (s: string) => (cs ? s : s.toLowerCase());
  if (typeof match['path'] === 'string' && p !== norm(match['path'])) return false;
  if (typeof match['prefix'] === 'string' && !p.startsWith(norm(match['prefix']))) return false;
  if (match['safe_regex'] && !RE2JS.compile(String((match['safe_regex'] as Msg)['regex'])).matches(path)) return false;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  headers[':authority'] = req.authority;
  headers[':method'] = req.method ?? 'GET';
  headers[':path'] = full;
  for (const h of (match['headers'] as Msg[] | undefined) ?? []) {
    const ok = stringMatch(h['string_match'] as Msg, headers[String(h['name'])]);
    if (ok === !!h['invert_match']) return false;
  }
  for (const qp of (match['query_parameters'] as Msg[] | undefined) ?? []) {
    const v = query.get(String(qp['name']));
    if (!stringMatch(qp['string_match'] as Msg, v ?? undefined)) return false;
  }
  return true;
}

/** Routes `req` through `rc`; undefined when no virtual host or route matches (Envoy's 404 NR). */
export function simulate(rc: Msg, req: SimRequest): SimResult | undefined {
  let best: Msg | undefined;
  let bestScore = 0;
  let bestLen = -1;
  for (const vh of (rc['virtual_hosts'] as Msg[]) ?? []) {
    for (const d of vh['domains'] as string[]) {
      const s = domainMatches(d, req.authority);
      if (s > bestScore || (s === bestScore && s > 0 && d.length > bestLen)) {
        best = vh;
        bestScore = s;
        bestLen = d.length;
      }
    }
  }
  if (!best) return undefined;
  for (const r of (best['routes'] as Msg[]) ?? []) {
    if (!routeMatches(r['match'] as Msg, req)) continue;
    const action = r['route'] as Msg | undefined;
    const wc = action?.['weighted_clusters'] as Msg | undefined;
    return {
      virtualHost: String(best['name']),
      route: r,
      cluster: action?.['cluster'] as string | undefined,
      weighted: wc
        ? (wc['clusters'] as Msg[]).map((c) => ({
            name: String(c['name']),
            weight: Number((c['weight'] as Msg | undefined)?.['value'] ?? 0),
          }))
        : undefined,
      redirect: r['redirect'] as Msg | undefined,
      directResponse: r['direct_response'] as Msg | undefined,
    };
  }
  return undefined;
}
