/**
 * Adapter from Pilot's plugin slots (configgen/plugins.ts) to the pure security
 * compilers: reads the security kinds from the push's store (memoized per
 * push), builds the WorkloadInfo of an inbound listener, and fills the `authn`
 * (jwt_authn) and `rbac` (RBAC) slots plus the inbound transport socket for
 * STRICT ports, and the inbound chain plan (STRICT: TLS only; PERMISSIVE: TLS selected by
 * `transport_protocol: tls` plus plaintext, with tls_inspector).
 */
import type { ConfigPlugin, ListenerInput } from '../plugins';
import type { Msg } from '../names';
import { buildAuthorizationFilters } from './authz-policy';
import { emptySecurityConfigs, type SecurityConfigs, type SecurityObject, type WorkloadInfo } from './inputs';
import { buildJwtFilter, referencedJwksUris } from './jwt';
import type { JwksCache } from './jwks-cache';
import { buildInboundTlsContext, planInboundChains, resolveMtlsMode, type CertSource } from './mtls';
import { buildRbacV1alpha1Filter } from './rbac-v1alpha1';

export interface SecurityPluginOptions {
  jwks?: JwksCache;
  certSource?: CertSource;
  rootNamespace?: string;
  /** Called with notes about policy parts tsmesh cannot enforce. */
  warn?: (message: string) => void;
}

const CACHE_KEY = 'security:configs';

export function securityConfigsFrom(input: ListenerInput, o: SecurityPluginOptions): SecurityConfigs {
  const cached = input.ctx.cache.get(CACHE_KEY) as SecurityConfigs | undefined;
  if (cached) return cached;
  const c = emptySecurityConfigs(input.ctx.mesh.trustDomain);
  c.rootNamespace = o.rootNamespace ?? 'istio-system';
  const list = <S>(kind: string): SecurityObject<S>[] =>
    input.ctx.store.list(kind).map((s) => ({
      name: s.name,
      namespace: s.namespace,
      spec: (s.object.spec ?? {}) as S,
      order: s.object.metadata.creationTimestamp ?? `${String(s.revision).padStart(12, '0')}`,
    }));
  c.meshPolicies = list('MeshPolicy');
  c.policies = list('Policy');
  c.peerAuthentications = list('PeerAuthentication');
  c.requestAuthentications = list('RequestAuthentication');
  c.authorizationPolicies = list('AuthorizationPolicy');
  c.serviceRoles = list('ServiceRole');
  c.serviceRoleBindings = list('ServiceRoleBinding');
  const rbac = [
    ...list<SecurityConfigs['rbacConfig']>('ClusterRbacConfig'),
    ...list<SecurityConfigs['rbacConfig']>('RbacConfig'),
  ];
  c.rbacConfig = rbac.find((r) => r.name === 'default')?.spec;
  if (o.jwks) {
    const jwks = o.jwks;
    jwks.retain(referencedJwksUris(c));
    c.jwksFor = (uri) => jwks.get(uri);
  }
  input.ctx.cache.set(CACHE_KEY, c);
  return c;
}

export function workloadOf(input: ListenerInput): WorkloadInfo {
  const svc = input.service;
  return {
    namespace: input.proxy.namespace,
    labels: input.proxy.labels,
    services: svc
      ? [{ name: svc.name, hostname: svc.hostname, ports: svc.ports.map((p) => ({ number: p.port, name: p.name })) }]
      : [],
  };
}

/** The two plugins to register: `authn` (jwt_authn) and `rbac` (AuthorizationPolicy + 1.0 RBAC). */
export function securityPlugins(o: SecurityPluginOptions = {}): ConfigPlugin[] {
  const inbound = (input: ListenerInput) => input.direction === 'inbound';
  return [
    {
      name: 'security-authn',
      slot: 'authn',
      httpFilters(input): Msg[] {
        if (!inbound(input)) return [];
        const f = buildJwtFilter(workloadOf(input), securityConfigsFrom(input, o), input.port.port);
        return f ? [f] : [];
      },
      inboundChainPlan(input) {
        if (!inbound(input)) return undefined;
        const mode = resolveMtlsMode(workloadOf(input), securityConfigsFrom(input, o), input.port.port);
        if (mode === 'DISABLE') return undefined;
        const plan = planInboundChains(mode, o.certSource);
        // Only Envoy FilterChain fields go on the wire.
        return {
          listenerFilters: plan.listenerFilters,
          chains: plan.chains.map(({ filter_chain_match, transport_socket }) => ({
            ...(filter_chain_match ? { filter_chain_match } : {}),
            ...(transport_socket ? { transport_socket } : {}),
          })),
        };
      },
      inboundTransportSocket(input): Msg | undefined {
        if (!inbound(input)) return undefined;
        const mode = resolveMtlsMode(workloadOf(input), securityConfigsFrom(input, o), input.port.port);
        return mode === 'STRICT' ? buildInboundTlsContext(o.certSource) : undefined;
      },
    },
    {
      name: 'security-rbac',
      slot: 'rbac',
      httpFilters(input): Msg[] {
        if (!inbound(input)) return [];
        const w = workloadOf(input);
        const c = securityConfigsFrom(input, o);
        const authz = buildAuthorizationFilters(w, c);
        for (const m of authz.warnings) o.warn?.(m);
        const v1 = buildRbacV1alpha1Filter(w, c);
        return v1 ? [...authz.filters, v1] : authz.filters;
      },
    },
  ];
}
