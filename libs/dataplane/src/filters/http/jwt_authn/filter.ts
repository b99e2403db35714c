/**
 * The jwt_authn stream filter: find the requirement (per-route requirement_name,
 * else the first matching rule on the path without query/fragment), extract
 * tokens from the providers' locations, verify them with `jose` against the
 * inline JWKS, and either continue (payload left in metadata, token removed
 * unless `forward`) or reply 401 `Jwt verification fails` (a required but
 * missing token: `Jwt is missing`). A missing token passes `allow_missing`; a
 * present invalid one never does. `onRequest` returns a Promise only when a
 * token reached signature verification; every other case is decided at once.
 */
import type { Clock } from '@tsmesh/core';
import type { HeaderMap } from '../../../http/header-ops';
import type { HeaderGetter } from '../../../http/matchers';
import type { FilterFactoryContext, HttpFilter, HttpStreamContext, LocalReply } from '../../types';
import type { JwtAuthnConfig, JwtPerRoute, JwtProvider, Requirement, TokenLocation } from './config';
import { JWT_AUTHN_NAME } from './config';
import { selectKeys, type VerificationKey } from './keys';
import { ISTIO_AUTHN_NAMESPACE, JWT_METADATA_NAMESPACE, istioAuthnFor } from './metadata';
import { jwtAuthnStats } from './stats';
import { inspectJwt, verifyJwt, type JwtFailure } from './verify';

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

/** One provider check a requirement needs; `audiences` from `provider_and_audiences` replace the provider's. */
interface Check {
  provider: JwtProvider;
  audiences?: readonly string[];
}

function checksOf(r: Requirement, config: JwtAuthnConfig, out: Check[] = []): Check[] {
  switch (r.kind) {
    case 'provider': {
      const provider = config.providers.get(r.provider);
      if (provider) out.push({ provider, audiences: r.audiences });
      break;
    }
    case 'allow_missing_or_failed':
      for (const provider of config.providers.values()) out.push({ provider });
      break;
    case 'any':
    case 'all':
      for (const child of r.of) checksOf(child, config, out);
      break;
    case 'allow_missing':
      break;
  }
  return out;
}

const checkKey = (c: Check) => (c.audiences ? `${c.provider.name}\n${c.audiences.join('\n')}` : c.provider.name);

/** A provider's token after the synchronous checks: a final outcome, or a token to verify with jose. */
type Prepared = Outcome | { token: FoundToken; alg: string; candidates: readonly VerificationKey[] };

/**
 * One request against one requirement. `prepare` runs every provider check the
 * requirement needs: synchronously when no signature has to be verified (no
 * token, malformed token, wrong issuer, no key), else it returns a promise that
 * settles when jose has verified every pending token. `evaluate` then walks the
 * requirement over those outcomes without further work.
 */
class Evaluator {
  private readonly prepared = new Map<JwtProvider, Prepared>();
  private readonly outcomes = new Map<string, Outcome>();
  constructor(
    private readonly ctx: HttpStreamContext,
    private readonly config: JwtAuthnConfig,
    private readonly clock: Clock,
  ) {}

  private prepareProvider(p: JwtProvider): Prepared {
    let prepared = this.prepared.get(p);
    if (prepared) return prepared;
    const found = extract(this.ctx, p.locations);
    prepared = { ok: false, failure: 'Jwt is missing' };
    if (found.some((f) => f === null)) prepared = { ok: false, failure: 'Jwt verification fails' };
    else {
      for (const f of found as FoundToken[]) {
        const jwt = inspectJwt(f.token);
        if (typeof jwt === 'string') {
          prepared = { ok: false, failure: jwt };
          break;
        }
        if (p.issuer && jwt.payload.iss !== p.issuer) {
          prepared = { ok: false, failure: 'Jwt issuer is not configured' };
          continue;
        }
        const kid = typeof jwt.header.kid === 'string' ? jwt.header.kid : undefined;
        const candidates = selectKeys(p.keys, jwt.alg, kid);
        prepared =
          candidates.length === 0
            ? { ok: false, failure: "Jwks doesn't have key to match kid or alg from Jwt" }
            : { token: f, alg: jwt.alg, candidates };
        break;
      }
    }
    this.prepared.set(p, prepared);
    return prepared;
  }

  prepare(r: Requirement): Promise<void> | undefined {
    let pending: Promise<void>[] | undefined;
    const now = new Date(this.clock.now());
    for (const c of checksOf(r, this.config)) {
      const key = checkKey(c);
      if (this.outcomes.has(key)) continue;
      const prepared = this.prepareProvider(c.provider);
      if ('ok' in prepared) {
        this.outcomes.set(key, prepared);
        continue;
      }
      const { provider } = c;
      const verifying = verifyJwt(prepared.token.token, prepared.alg, prepared.candidates, {
        issuer: provider.issuer,
        audiences: c.audiences ?? provider.audiences,
        skewSeconds: provider.skewSeconds,
        now,
      }).then((v) => {
        this.outcomes.set(
          key,
          typeof v === 'string'
            ? { ok: false, failure: v }
            : { ok: true, verified: [{ provider, payload: v.payload, found: prepared.token }] },
        );
      });
      // Placeholder until verified, so a check repeated in the tree is verified once.
      this.outcomes.set(key, { ok: false, failure: 'Jwt verification fails' });
      (pending ??= []).push(verifying);
    }
    return pending && Promise.all(pending).then(() => undefined);
  }

  private outcome(c: Check): Outcome {
    return this.outcomes.get(checkKey(c)) ?? { ok: false, failure: 'Jwt verification fails' };
  }

  evaluate(r: Requirement): Outcome {
    switch (r.kind) {
      case 'provider': {
        const p = this.config.providers.get(r.provider);
        return p
          ? this.outcome({ provider: p, audiences: r.audiences })
          : { ok: false, failure: 'Jwt issuer is not configured' };
      }
      case 'allow_missing_or_failed': {
        const verified = [...this.config.providers.values()]
          .map((provider) => this.outcome({ provider }))
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
      const required = requirement;
      const evaluator = new Evaluator(ctx, config, fctx.clock);
      const finish = (): LocalReply | undefined => apply(evaluator.evaluate(required), ctx);
      const verifying = evaluator.prepare(required);
      // Only a token that reached signature verification makes the stream wait.
      return verifying ? verifying.then(finish) : finish();
    },
  });

  /** Applies an outcome: a 401, or the verified payloads into metadata and headers. */
  function apply(outcome: Outcome, ctx: HttpStreamContext): LocalReply | undefined {
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
    return undefined;
  }
}
