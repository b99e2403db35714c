/**
 * CORS (envoy.filters.http.cors): answers preflight `OPTIONS` requests locally and adds the
 * `access-control-*` response headers for allowed origins. Counts `http.<prefix>.cors.origin_valid`
 * and `origin_invalid`.
 */
import type { FilterFactoryContext, HttpFilter } from '../../types';
import type { CorsPolicy } from './config';

export function createCorsFilter(_config: unknown, fctx: FilterFactoryContext): () => HttpFilter {
  const p = `http.${fctx.statPrefix}.cors.`;
  const valid = fctx.stats.counter(p + 'origin_valid');
  const invalid = fctx.stats.counter(p + 'origin_invalid');
  const filter: HttpFilter = {
    onRequest(ctx) {
      const policy = ctx.perRouteConfig<CorsPolicy | null>(fctx.filterName);
      const origin = ctx.headers['origin'];
      if (!policy || !policy.enabled || typeof origin !== 'string') return undefined;
      const ok = policy.origins.some((m) => m(origin));
      if (!ok) {
        invalid.inc();
        return undefined;
      }
      valid.inc();
      if (ctx.method === 'OPTIONS' && ctx.headers['access-control-request-method'] !== undefined) {
        const headers: Record<string, string> = { 'access-control-allow-origin': origin };
        if (policy.allowMethods) headers['access-control-allow-methods'] = policy.allowMethods;
        if (policy.allowHeaders) headers['access-control-allow-headers'] = policy.allowHeaders;
        if (policy.maxAge) headers['access-control-max-age'] = policy.maxAge;
        if (policy.allowCredentials) headers['access-control-allow-credentials'] = 'true';
        return { status: 200, headers, body: '' };
      }
      return undefined;
    },
    onResponse(ctx, response) {
      const policy = ctx.perRouteConfig<CorsPolicy | null>(fctx.filterName);
      const origin = ctx.headers['origin'];
      if (!policy || !policy.enabled || typeof origin !== 'string' || ctx.method === 'OPTIONS') return;
      if (!policy.origins.some((m) => m(origin))) return;
      response.headers['access-control-allow-origin'] = origin;
      if (policy.allowCredentials) response.headers['access-control-allow-credentials'] = 'true';
      if (policy.exposeHeaders) response.headers['access-control-expose-headers'] = policy.exposeHeaders;
    },
  };
  return () => filter;
}
