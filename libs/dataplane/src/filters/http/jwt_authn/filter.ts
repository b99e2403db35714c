/**
 * The jwt_authn stream filter: find the requirement (per-route requirement_name,
 * else the first matching rule on the path without query/fragment), extract
 * tokens from the providers' locations, verify them against inline JWKS, and
 * either continue (payload left in metadata, token removed unless `forward`) or
 * reply 401 `Jwt verification fails` (a required but missing token: `Jwt is
 * missing`). A missing token passes `allow_missing`; a present invalid one never
 * does.
 */
import type { Clock } from '@tsmesh/core';
import type { HeaderMap } from '../../../http/header-ops';
import type { HeaderGetter } from '../../../http/matchers';
import type { FilterFactoryContext, HttpFilter, HttpStreamContext, LocalReply } from '../../types';
import type { JwtAuthnConfig, JwtPerRoute, JwtProvider, Requirement, TokenLocation } from './config';
import { JWT_AUTHN_NAME } from './config';
import { audiencesOf, checkTimes, decodeJwt, verifySignature, type JwtFailure } from './jws';
import { ISTIO_AUTHN_NAMESPACE, JWT_METADATA_NAMESPACE, istioAuthnFor } from './metadata';
import { jwtAuthnStats } from './stats';

interface FoundToken {
  token: string;
  location: TokenLocation;
}

type Outcome = { ok: true; verified: Verified[] } | { ok: false; failure: JwtFailure };

interface Verified {
  provider: JwtProvider;
  payload: Record<string, unknown>;
  found: FoundToken;
}

function first(v: HeaderMap[string]): string | undefined | null {
  if (Array.isArray(v)) return v.length === 1 ? v[0] : null; // several values: ambiguous
  return v === undefined ? undefined : String(v);
}

export function headerGetter(ctx: HttpStreamContext): HeaderGetter {
  return (name) => {
    switch (name) {
      case ':authority':
      case 'host':
        return ctx.authority;
      case ':path':
        return ctx.path;
      case ':method':
        return ctx.method;
      case ':scheme':
        return ctx.scheme;
      default: {
        const v = first(ctx.headers[name]);
        return v === null ? undefined : v;
      }
    }
  };
}

/** Path without query or fragment (CVE-2020-8595: `?`/`#` must not dodge an exact rule). */
export function pathOnly(path: string): string {
  const cut = path.search(/[?#]/);
  return cut >= 0 ? path.slice(0, cut) : path;
}

/** Tokens at the given locations; `null` entry = a malformed location (duplicate header, wrong prefix). */
function extract(ctx: HttpStreamContext, locations: readonly TokenLocation[]): Array<FoundToken | null> {
  const out: Array<FoundToken | null> = [];
  let query: URLSearchParams | undefined;
  for (const loc of locations) {
    if (loc.header) {
      const raw = first(ctx.headers[loc.header]);
      if (raw === undefined) continue;
      if (raw === null) {
        out.push(null);
        continue;
      }
      if (loc.prefix) {
        // Envoy matches the prefix case-sensitively; accept any case of "Bearer " as clients vary.
        if (raw.slice(0, loc.prefix.length).toLowerCase() !== loc.prefix.toLowerCase()) continue;
        out.push({ token: raw.slice(loc.prefix.length).trim(), location: loc });
      } else out.push({ token: raw.trim(), location: loc });
    } else if (loc.cookie) {
      const raw = first(ctx.headers['cookie']);
      if (!raw) continue;
      const found = raw
        .split(';')
        .map((c) => c.trim())
        .filter((c) => c.startsWith(`${loc.cookie}=`))
        .map((c) => c.slice((loc.cookie as string).length + 1));
      if (found.length > 1) out.push(null);
      else if (found.length === 1) out.push({ token: found[0], location: loc });
    } else if (loc.param) {
      const q = ctx.path.indexOf('?');
      if (q < 0) continue;
      query ??= new URLSearchParams(pathOnlyQuery(ctx.path.slice(q + 1)));
      const all = query.getAll(loc.param);
      if (all.length > 1) out.push(null);
      else if (all.length === 1) out.push({ token: all[0], location: loc });
    }
  }
  return out;
}

function pathOnlyQuery(q: string): string {
  const h = q.indexOf('#');
  return h >= 0 ? q.slice(0, h) : q;
}

class Evaluator {
  private readonly cache = new Map<JwtProvider, Outcome>();
  constructor(
    private readonly ctx: HttpStreamContext,
    private readonly config: JwtAuthnConfig,
    private readonly clock: Clock,
  ) {}

  private verifyProvider(p: JwtProvider, audiences?: readonly string[]): Outcome {
    const cached = audiences ? undefined : this.cache.get(p);
    if (cached) return cached;
    const found = extract(this.ctx, p.locations);
    let result: Outcome = { ok: false, failure: 'Jwt is missing' };
    if (found.some((f) => f === null)) result = { ok: false, failure: 'Jwt verification fails' };
    else {
      for (const f of found as FoundToken[]) {
        const jwt = decodeJwt(f.token);
        if (typeof jwt === 'string') {
          result = { ok: false, failure: jwt };
          break;
        }
        if (p.issuer && jwt.payload['iss'] !== p.issuer) {
          result = { ok: false, failure: 'Jwt issuer is not configured' };
          continue;
        }
        const sig = verifySignature(jwt, p.keys);
        const times = sig === true ? checkTimes(jwt.payload, this.clock.now(), p.skewSeconds) : sig;
        const wantAud = audiences ?? p.audiences;
        const aud =
          times === true && wantAud.length > 0 && !audiencesOf(jwt.payload).some((a) => wantAud.includes(a))
            ? 'Audiences in Jwt are not allowed'
            : times;
        result =
          aud === true
            ? { ok: true, verified: [{ provider: p, payload: jwt.payload, found: f }] }
            : { ok: false, failure: aud };
        break;
      }
    }
    if (!audiences) this.cache.set(p, result);
    return result;
  }

  evaluate(r: Requirement): Outcome {
    switch (r.kind) {
      case 'provider': {
        const p = this.config.providers.get(r.provider);
        return p ? this.verifyProvider(p, r.audiences) : { ok: false, failure: 'Jwt issuer is not configured' };
      }
      case 'allow_missing_or_failed': {
        const verified = [...this.config.providers.values()]
          .map((p) => this.verifyProvider(p))
          .flatMap((o) => (o.ok ? o.verified : []));
        return { ok: true, verified };
      }
      case 'allow_missing':
        return extract(this.ctx, this.config.allLocations).length === 0
          ? { ok: true, verified: [] }
          : { ok: false, failure: 'Jwt issuer is not configured' };
      case 'any': {
        let failure: JwtFailure = 'Jwt is missing';
        for (const child of r.of) {
          const o = this.evaluate(child);
          if (o.ok) return o;
          // Report the most telling failure: anything beats "missing" or "issuer not configured".
          if (failure === 'Jwt is missing' || failure === 'Jwt issuer is not configured') failure = o.failure;
        }
        return { ok: false, failure };
      }
      case 'all': {
        const verified: Verified[] = [];
        for (const child of r.of) {
          const o = this.evaluate(child);
          if (!o.ok) return o;
          verified.push(...o.verified);
        }
        return { ok: true, verified };
      }
    }
  }
}

function reject(failure: JwtFailure, ctx: HttpStreamContext): LocalReply {
  const missing = failure === 'Jwt is missing';
  const body = missing ? 'Jwt is missing' : 'Jwt verification fails';
  const realm = `http://${ctx.authority}${pathOnly(ctx.path)}`;
  return {
    status: 401,
    body,
    headers: {
      'www-authenticate': `Bearer realm="${realm.replace(/["\\\r\n]/g, '')}"${missing ? '' : ', error="invalid_token"'}`,
    },
    details: `jwt_authn_access_denied{${failure.replace(/\s+/g, '_')}}`,
  };
}

function removeToken(ctx: HttpStreamContext, found: FoundToken): void {
  if (found.location.header) {
    delete ctx.headers[found.location.header];
  } else if (found.location.param) {
    const q = ctx.path.indexOf('?');
    const params = new URLSearchParams(ctx.path.slice(q + 1));
    params.delete(found.location.param);
    const rest = params.toString();
    ctx.path = ctx.path.slice(0, q) + (rest ? `?${rest}` : '');
  }
}

export function createJwtAuthnFactory(config: JwtAuthnConfig, fctx: FilterFactoryContext): () => HttpFilter {
  const stats = jwtAuthnStats(fctx.stats, fctx.statPrefix);
  const filterName = fctx.filterName || JWT_AUTHN_NAME;
  return () => ({
    onRequest(ctx) {
      const perRoute = ctx.perRouteConfig<JwtPerRoute>(filterName);
      if (perRoute?.disabled) return;
      if (
        config.bypassCorsPreflight &&
        ctx.method === 'OPTIONS' &&
        ctx.headers['origin'] &&
        ctx.headers['access-control-request-method']
      ) {
        stats.corsPreflightBypassed.inc();
        return;
      }
      let requirement: Requirement | null = null;
      if (perRoute?.requirementName) requirement = config.requirements.get(perRoute.requirementName) ?? null;
      else {
        const get = headerGetter(ctx);
        const p = pathOnly(ctx.path);
        requirement = config.rules.find((r) => r.match(p, get))?.requires ?? null;
      }
      if (!requirement) return;
      const outcome = new Evaluator(ctx, config, fctx.clock).evaluate(requirement);
      if (!outcome.ok) {
        stats.denied.inc();
        return reject(outcome.failure, ctx);
      }
      stats.allowed.inc();
      for (const v of outcome.verified) {
        const md = ctx.info.dynamicMetadata;
        if (v.provider.payloadInMetadata) {
          const ns = (md[JWT_METADATA_NAMESPACE] ??= {}) as Record<string, unknown>;
          ns[v.provider.payloadInMetadata] = v.payload;
        }
        md[ISTIO_AUTHN_NAMESPACE] ??= istioAuthnFor(v.payload);
        if (v.provider.forwardPayloadHeader) {
          ctx.headers[v.provider.forwardPayloadHeader] = Buffer.from(JSON.stringify(v.payload)).toString('base64url');
        }
        for (const { header, claim } of v.provider.claimToHeaders) {
          const value = v.payload[claim];
          if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
            // Claims are attacker-influenced text: never let CR/LF/NUL into a header.
            const text = String(value);
            if (!/[\r\n\0]/.test(text)) ctx.headers[header] = text;
          }
        }
        if (!v.provider.forward) removeToken(ctx, v.found);
      }
    },
  });
}
