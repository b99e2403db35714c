import type { ConfigObject } from './object';
import type { GatewaySpec, ServiceEntrySpec, SidecarSpec, VirtualServiceSpec } from './networking';
import type { DestinationRuleSpec } from './destination-rule';
import type {
  AuthenticationPolicySpec,
  AuthorizationPolicySpec,
  PeerAuthenticationSpec,
  RequestAuthenticationSpec,
} from './security';
import type { EndpointSliceSpec, EndpointsSpec, NamespaceSpec, PodSpec, PodStatus, ServiceSpec } from './kubernetes';

/**
 * Typed config objects, as `validate()` returns them (normalized spec). The config store keeps objects as
 * written instead (`MeshObject`).
 */
export type VirtualServiceObject = ConfigObject<VirtualServiceSpec>;
export type DestinationRuleObject = ConfigObject<DestinationRuleSpec>;
export type GatewayObject = ConfigObject<GatewaySpec>;
export type ServiceEntryObject = ConfigObject<ServiceEntrySpec>;
export type SidecarObject = ConfigObject<SidecarSpec>;
export type AuthenticationPolicyObject = ConfigObject<AuthenticationPolicySpec>;
export type PeerAuthenticationObject = ConfigObject<PeerAuthenticationSpec>;
export type RequestAuthenticationObject = ConfigObject<RequestAuthenticationSpec>;
export type AuthorizationPolicyObject = ConfigObject<AuthorizationPolicySpec>;
export type ServiceObject = ConfigObject<ServiceSpec>;
export type EndpointsObject = ConfigObject<EndpointsSpec>;
export type EndpointSliceObject = ConfigObject<EndpointSliceSpec>;
export type PodObject = ConfigObject<PodSpec> & { status?: PodStatus };
export type NamespaceObject = ConfigObject<NamespaceSpec>;
