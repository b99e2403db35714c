/**
 * Security generation for Pilot (pure functions; see docs/security.md):
 * inbound HTTP filters (jwt_authn, RBAC), inbound mTLS filter-chain plan and
 * outbound UpstreamTlsContext with secure naming.
 */
export * from './inputs';
export { buildInboundSecurityFilters, type SecurityFilters } from './filters';
export {
  buildInboundTlsContext,
  buildOutboundTlsContext,
  planInboundChains,
  resolveMtlsMode,
  spiffeIdsFor,
  modeOfPolicy,
  SDS_CERT,
  SDS_ROOT,
  TLS_INSPECTOR,
  type CertSource,
  type DestinationRuleTls,
  type InboundChainPlan,
  type MtlsMode,
  type OutboundTlsOptions,
} from './mtls';
export { buildJwtFilter, referencedJwksUris, EMPTY_JWKS } from './jwt';
export { buildAuthorizationFilters, rulePolicy, conditionMatcher } from './authz-policy';
export { buildRbacV1alpha1Filter, rbacEnforced } from './rbac-v1alpha1';
export { securityPlugins, securityConfigsFrom, workloadOf, type SecurityPluginOptions } from './plugin';
export { JwksCache, defaultFetcher, type JwksCacheOptions } from './jwks-cache';
