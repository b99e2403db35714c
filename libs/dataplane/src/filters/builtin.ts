/**
 * Explicit registration of the built-in HTTP filters (called from main.ts, never on import):
 * router, fault, CORS, local rate limit, and the security filters that live beside them (jwt_authn, rbac).
 * The Mixer client filter needs a Mixer connection and is registered by the proxy wiring.
 */
import { corsFilter } from './http/cors';
import { faultFilter } from './http/fault';
import { jwtAuthnFilter } from './http/jwt_authn';
import { localRateLimitFilter } from './http/local_ratelimit';
import { rbacFilter } from './http/rbac';
import { routerFilter } from './http/router';
import type { FilterRegistry } from './types';

export function registerBuiltinFilters(registry: FilterRegistry): FilterRegistry {
  return registry
    .register(routerFilter)
    .register(faultFilter)
    .register(corsFilter)
    .register(localRateLimitFilter)
    .register(jwtAuthnFilter)
    .register(rbacFilter);
}
