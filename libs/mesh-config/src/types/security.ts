/**
 * Security specs: `authentication.istio.io/v1alpha1` (Istio 1.0 Policy/MeshPolicy),
 * `security.istio.io` v1beta1/v1 (PeerAuthentication, RequestAuthentication,
 * AuthorizationPolicy) and `rbac.istio.io/v1alpha1`. JSON names from istio/api.
 */

export interface TargetSelector {
  name: string;
  labels?: Record<string, string>;
  ports?: { number?: number; name?: string }[];
}

export interface MutualTls {
  mode?: 'STRICT' | 'PERMISSIVE';
  allowTls?: boolean;
}

export interface Jwt {
  issuer: string;
  audiences?: string[];
  jwksUri?: string;
  jwks?: string;
  jwtHeaders?: string[];
  jwtParams?: string[];
  triggerRules?: { excludedPaths?: unknown[]; includedPaths?: unknown[] }[];
}

/** `peers[]` entry: exactly one of `mtls` (may be written `mtls: {}` or `mtls:`) or `jwt`. */
export interface PeerAuthenticationMethod {
  mtls?: MutualTls;
  jwt?: Jwt;
}

export interface OriginAuthenticationMethod {
  jwt: Jwt;
}

/** istio.authentication.v1alpha1.Policy (also MeshPolicy, cluster-scoped). */
export interface AuthenticationPolicySpec {
  targets?: TargetSelector[];
  peers?: PeerAuthenticationMethod[];
  peerIsOptional?: boolean;
  origins?: OriginAuthenticationMethod[];
  originIsOptional?: boolean;
  principalBinding?: 'USE_PEER' | 'USE_ORIGIN';
}

export interface WorkloadSelector {
  matchLabels?: Record<string, string>;
}

export interface PolicyTargetReference {
  group?: string;
  kind: string;
  name: string;
  namespace?: string;
}

export type PeerMtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthenticationSpec {
  selector?: WorkloadSelector;
  mtls?: { mode?: PeerMtlsMode };
  /** Keyed by port number (as a string in YAML). */
  portLevelMtls?: Record<string, { mode?: PeerMtlsMode }>;
}

export interface JWTRule {
  issuer: string;
  audiences?: string[];
  jwksUri?: string;
  jwks?: string;
  fromHeaders?: { name: string; prefix?: string }[];
  fromParams?: string[];
  fromCookies?: string[];
  outputPayloadToHeader?: string;
  forwardOriginalToken?: boolean;
  outputClaimToHeaders?: { header: string; claim: string }[];
  timeout?: string;
  spaceDelimitedClaims?: string[];
}

export interface RequestAuthenticationSpec {
  selector?: WorkloadSelector;
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  jwtRules?: JWTRule[];
}

export interface AuthzSource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  trustDomains?: string[];
  notTrustDomains?: string[];
}

export interface AuthzOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

export interface AuthzCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}

export interface AuthzRule {
  from?: { source: AuthzSource }[];
  to?: { operation: AuthzOperation }[];
  when?: AuthzCondition[];
}

export interface AuthorizationPolicySpec {
  selector?: WorkloadSelector;
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  rules?: AuthzRule[];
  /** Defaulted to `ALLOW` on normalization. */
  action?: 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
  provider?: { name: string };
}

export interface AccessRule {
  services: string[];
  paths?: string[];
  notPaths?: string[];
  methods?: string[];
  notMethods?: string[];
  hosts?: string[];
  notHosts?: string[];
  ports?: number[];
  notPorts?: number[];
  constraints?: { key: string; values: string[] }[];
}

/** rbac.istio.io/v1alpha1 ServiceRole. */
export interface ServiceRoleSpec {
  rules: AccessRule[];
}

export interface RbacSubject {
  user?: string;
  group?: string;
  properties?: Record<string, string>;
  names?: string[];
  notNames?: string[];
  groups?: string[];
  notGroups?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ips?: string[];
  notIps?: string[];
}

/** rbac.istio.io/v1alpha1 ServiceRoleBinding. */
export interface ServiceRoleBindingSpec {
  subjects: RbacSubject[];
  roleRef?: { kind: string; name: string };
  role?: string;
  actions?: AccessRule[];
  mode?: 'ENFORCED' | 'PERMISSIVE';
}

export interface RbacTarget {
  services?: string[];
  namespaces?: string[];
}

/** rbac.istio.io/v1alpha1 RbacConfig / ClusterRbacConfig. */
export interface RbacConfigSpec {
  mode?: 'OFF' | 'ON' | 'ON_WITH_INCLUSION' | 'ON_WITH_EXCLUSION';
  inclusion?: RbacTarget;
  exclusion?: RbacTarget;
  enforcementMode?: 'ENFORCED' | 'PERMISSIVE';
}
