/**
 * The inbound HTTP security filters of one workload port, in Istio's order:
 * origin authentication (jwt_authn), AuthorizationPolicy DENY, then ALLOW, then
 * the 1.0 RBAC filter. Pilot inserts them before Mixer and the router.
 */
import { buildAuthorizationFilters } from './authz-policy';
import type { SecurityConfigs, WorkloadInfo } from './inputs';
import { buildJwtFilter } from './jwt';
import type { Msg } from './mtls';
import { buildRbacV1alpha1Filter } from './rbac-v1alpha1';

export interface SecurityFilters {
  filters: Msg[];
  warnings: string[];
}

export function buildInboundSecurityFilters(w: WorkloadInfo, c: SecurityConfigs, port: number): SecurityFilters {
  const filters: Msg[] = [];
  const jwt = buildJwtFilter(w, c, port);
  if (jwt) filters.push(jwt);
  const authz = buildAuthorizationFilters(w, c);
  filters.push(...authz.filters);
  const v1 = buildRbacV1alpha1Filter(w, c);
  if (v1) filters.push(v1);
  return { filters, warnings: authz.warnings };
}
