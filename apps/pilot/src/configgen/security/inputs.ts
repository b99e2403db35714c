/**
 * Inputs of the security generators, kept plain so the compilers are pure
 * functions (unit-tested by simulation): the workload a proxy fronts and the
 * security objects in the store, already normalized by @tsmesh/mesh-config.
 */
import type {
  AuthenticationPolicySpec,
  AuthorizationPolicySpec,
  PeerAuthenticationSpec,
  RbacConfigSpec,
  RequestAuthenticationSpec,
  ServiceRoleBindingSpec,
  ServiceRoleSpec,
  WorkloadSelector,
} from '@tsmesh/mesh-config';

/** The workload an inbound listener fronts. */
export interface WorkloadInfo {
  namespace: string;
  labels: Record<string, string>;
  /** Services this workload is an instance of (1.0 Policy `targets` and ServiceRole `services` match these). */
  services: { name: string; hostname: string; ports: { number: number; name: string }[] }[];
}

export interface SecurityObject<S> {
  name: string;
  namespace: string;
  spec: S;
  /** Creation order key (oldest first wins where Istio says so). */
  order?: string;
}

export interface SecurityConfigs {
  trustDomain: string;
  /** Istio's root namespace: PeerAuthentication / AuthorizationPolicy there apply mesh-wide. */
  rootNamespace: string;
  meshPolicies: SecurityObject<AuthenticationPolicySpec>[];
  policies: SecurityObject<AuthenticationPolicySpec>[];
  peerAuthentications: SecurityObject<PeerAuthenticationSpec>[];
  requestAuthentications: SecurityObject<RequestAuthenticationSpec>[];
  authorizationPolicies: SecurityObject<AuthorizationPolicySpec>[];
  serviceRoles: SecurityObject<ServiceRoleSpec>[];
  serviceRoleBindings: SecurityObject<ServiceRoleBindingSpec>[];
  /** RbacConfig and ClusterRbacConfig named `default` (ClusterRbacConfig wins when both exist). */
  rbacConfig?: RbacConfigSpec;
  /** JWKS text for a `jwksUri`, as fetched and cached by the control plane (JwksCache). */
  jwksFor?: (jwksUri: string) => string | undefined;
}

export function emptySecurityConfigs(trustDomain = 'cluster.local'): SecurityConfigs {
  return {
    trustDomain,
    rootNamespace: 'istio-system',
    meshPolicies: [],
    policies: [],
    peerAuthentications: [],
    requestAuthentications: [],
    authorizationPolicies: [],
    serviceRoles: [],
    serviceRoleBindings: [],
  };
}

export function selectorMatches(sel: WorkloadSelector | undefined, labels: Record<string, string>): boolean {
  const want = sel?.matchLabels;
  if (!want) return true;
  return Object.entries(want).every(([k, v]) => labels[k] === v);
}

/** v1beta1 scoping: policies in the root namespace apply everywhere, else only in their namespace. */
export function appliesTo<S extends { selector?: WorkloadSelector }>(
  o: SecurityObject<S>,
  w: WorkloadInfo,
  c: SecurityConfigs,
): boolean {
  if (o.namespace !== c.rootNamespace && o.namespace !== w.namespace) return false;
  return selectorMatches(o.spec.selector, w.labels);
}

const byOrder = <T extends { order?: string; name: string }>(a: T, b: T) =>
  (a.order ?? a.name).localeCompare(b.order ?? b.name);
export const oldestFirst = <T extends { order?: string; name: string }>(list: T[]): T[] => [...list].sort(byOrder);
