/**
 * The RBAC stream filter. ALLOW: the request passes when some policy matches;
 * DENY: it is refused when some policy matches; LOG: never refuses. Refusal is
 * 403 `RBAC: access denied`. Policies see the canonical path: the connection
 * manager's normalized path with query and fragment removed, `%2F`/`%5C`
 * unescaped, dot segments removed and slashes merged — so `/public/../admin`,
 * `//admin`, `/%2Fadmin` and `/%2e%2e/admin` all read as `/admin`. A path that
 * cannot be canonicalized is refused. `:method` is compared upper-cased.
 */
import type { HeaderGetter } from '../../../http/matchers';
import { normalizePath } from '../../../http/path';
import type { FilterFactoryContext, HttpFilter, HttpStreamContext, LocalReply } from '../../types';
import { headerGetter } from '../jwt_authn/filter';
import { RBAC_NAME, type CompiledRules, type RbacConfig } from './config';
import type { RbacRequest } from './matchers';
import { rbacStats } from './stats';

export const RBAC_DENIED_BODY = 'RBAC: access denied';

/** Canonical form used for policy decisions, or null when the path is unusable. */
export function canonicalPath(path: string): string | null {
  const r = normalizePath(path, { normalize: true, mergeSlashes: true, escapedSlashes: 'UNESCAPE_AND_FORWARD' });
  return r.ok ? r.path : null;
}

export function rbacRequest(ctx: HttpStreamContext, path: string): RbacRequest {
  const base = headerGetter(ctx);
  const get: HeaderGetter = (name) => {
    if (name === ':method') return ctx.method.toUpperCase();
    if (name === ':authority' || name === 'host') return ctx.authority.toLowerCase();
    if (name === ':path') return path;
    // Several values are matched joined with "," (Envoy), so repeating a header cannot hide it from a DENY.
    const v = ctx.headers[name];
    if (Array.isArray(v)) return v.join(',');
    return base(name);
  };
  const c = ctx.connection;
  return {
    path,
    get,
    sourceIp: c.remoteAddress,
    destinationIp: c.localAddress,
    destinationPort: c.localPort,
    peerPrincipal: c.peerIdentity ?? ctx.info.peerIdentity,
    tls: c.tls,
    sni: c.sni,
    metadata: ctx.info.dynamicMetadata,
  };
}

/** Returns the name of the first matching policy, or null. */
export function firstMatch(rules: CompiledRules, r: RbacRequest): string | null {
  for (const p of rules.policies) if (p.permission(r) && p.principal(r)) return p.name;
  return null;
}

/** Whether `rules` allow the request, and which policy decided. */
export function decide(rules: CompiledRules, r: RbacRequest): { allowed: boolean; policy: string | null } {
  const policy = firstMatch(rules, r);
  if (rules.action === 'ALLOW') return { allowed: policy !== null, policy };
  if (rules.action === 'DENY') return { allowed: policy === null, policy };
  return { allowed: true, policy };
}

export function createRbacFactory(config: RbacConfig, fctx: FilterFactoryContext): () => HttpFilter {
  const stats = rbacStats(fctx.stats, fctx.statPrefix, config.shadowStatPrefix);
  const filterName = fctx.filterName || RBAC_NAME;
  return () => ({
    onRequest(ctx): LocalReply | undefined {
      const override = ctx.perRouteConfig<RbacConfig | null>(filterName);
      const effective = override === undefined ? config : override;
      if (!effective || (!effective.rules && !effective.shadow)) return undefined;
      const path = canonicalPath(ctx.path);
      if (path === null) {
        stats.denied.inc();
        return { status: 403, body: RBAC_DENIED_BODY, details: 'rbac_access_denied_bad_path' };
      }
      const req = rbacRequest(ctx, path);
      if (effective.shadow) {
        const s = decide(effective.shadow, req);
        (s.allowed ? stats.shadowAllowed : stats.shadowDenied).inc();
        const md = (ctx.info.dynamicMetadata[RBAC_NAME] ??= {}) as Record<string, unknown>;
        md['shadow_engine_result'] = s.allowed ? 'allowed' : 'denied';
        if (s.policy) md['shadow_effective_policy_id'] = s.policy;
      }
      if (!effective.rules) return undefined;
      const d = decide(effective.rules, req);
      if (d.allowed) {
        stats.allowed.inc();
        return undefined;
      }
      stats.denied.inc();
      return {
        status: 403,
        body: RBAC_DENIED_BODY,
        details: `rbac_access_denied_matched_policy[${d.policy ?? 'none'}]`,
      };
    },
  });
}
