import type { HttpFilterFactory } from '../../types';
import {
  RBAC_NAME,
  RBAC_PER_ROUTE_TYPE_URL,
  RBAC_TYPE_URL,
  parseRbac,
  parseRbacPerRoute,
  type RbacConfig,
} from './config';
import { createRbacFactory } from './filter';

/** `envoy.filters.http.rbac` (Envoy's RBAC; ALLOW/DENY/LOG, shadow rules). */
export const rbacFilter: HttpFilterFactory<RbacConfig, RbacConfig | null> = {
  name: RBAC_NAME,
  typeUrls: [RBAC_TYPE_URL, RBAC_PER_ROUTE_TYPE_URL],
  parseConfig: parseRbac,
  parsePerRoute: parseRbacPerRoute,
  create: createRbacFactory,
};

export * from './config';
export { canonicalPath, decide, RBAC_DENIED_BODY } from './filter';
