import { kindRegistry, registerKind, type KindDef } from './kinds';
import { map, any, obj, type FieldSpec } from './schema';
import * as net from './schemas/networking';
import * as sec from './schemas/security';
import * as mixer from './schemas/mixer';
import * as k8s from './schemas/kubernetes';
import {
  normalizeAuthorizationPolicy,
  normalizeDestinationRule,
  normalizeVirtualService,
} from './normalize-networking';
import { checkDestinationRule, checkGateway, checkServiceEntry, checkSidecar } from './check-networking';
import { checkVirtualService } from './check-virtual-service';
import { checkAuthorizationPolicy, checkPeerAuthentication, checkRequestAuthentication } from './check-security';
import {
  checkAuthenticationPolicy,
  checkRbacConfig,
  checkServiceRole,
  checkServiceRoleBinding,
} from './check-security-v1alpha1';

const NETWORKING = 'networking.istio.io';
const NET_VERSIONS = ['v1alpha3', 'v1beta1', 'v1'];
const SECURITY = 'security.istio.io';
const CONFIG = 'config.istio.io';

const body = (spec: FieldSpec): FieldSpec => obj({ spec, status: any() });

/** Every built-in kind: Istio networking/security/authentication/rbac, Mixer config, Kubernetes. */
export function builtinKinds(): KindDef[] {
  const net3: Omit<KindDef, 'kind' | 'schema'> = { group: NETWORKING, versions: NET_VERSIONS };
  const kinds: KindDef[] = [
    {
      ...net3,
      kind: 'VirtualService',
      schema: body(net.virtualServiceSpec),
      normalize: normalizeVirtualService,
      check: checkVirtualService,
    },
    {
      ...net3,
      kind: 'DestinationRule',
      schema: body(net.destinationRuleSpec),
      normalize: normalizeDestinationRule,
      check: checkDestinationRule,
    },
    { ...net3, kind: 'Gateway', schema: body(net.gatewaySpec), check: checkGateway },
    { ...net3, kind: 'ServiceEntry', schema: body(net.serviceEntrySpec), check: checkServiceEntry },
    { ...net3, kind: 'Sidecar', schema: body(net.sidecarSpec), check: checkSidecar },
    { ...net3, kind: 'WorkloadEntry', schema: body(net.workloadEntrySpec) },
    { ...net3, kind: 'WorkloadGroup', schema: body(net.workloadGroupSpec) },
    { group: NETWORKING, versions: ['v1alpha3'], kind: 'EnvoyFilter', schema: body(net.envoyFilterSpec) },
    {
      group: 'authentication.istio.io',
      versions: ['v1alpha1'],
      kind: 'Policy',
      schema: body(sec.authenticationPolicySpec),
      check: checkAuthenticationPolicy,
    },
    {
      group: 'authentication.istio.io',
      versions: ['v1alpha1'],
      kind: 'MeshPolicy',
      clusterScoped: true,
      schema: body(sec.authenticationPolicySpec),
      check: checkAuthenticationPolicy,
    },
    {
      group: SECURITY,
      versions: ['v1beta1', 'v1'],
      kind: 'PeerAuthentication',
      schema: body(sec.peerAuthenticationSpec),
      check: checkPeerAuthentication,
    },
    {
      group: SECURITY,
      versions: ['v1beta1', 'v1'],
      kind: 'RequestAuthentication',
      schema: body(sec.requestAuthenticationSpec),
      check: checkRequestAuthentication,
    },
    {
      group: SECURITY,
      versions: ['v1beta1', 'v1'],
      kind: 'AuthorizationPolicy',
      schema: body(sec.authorizationPolicySpec),
      normalize: normalizeAuthorizationPolicy,
      check: checkAuthorizationPolicy,
    },
    {
      group: 'rbac.istio.io',
      versions: ['v1alpha1'],
      kind: 'ServiceRole',
      schema: body(sec.serviceRoleSpec),
      check: checkServiceRole,
    },
    {
      group: 'rbac.istio.io',
      versions: ['v1alpha1'],
      kind: 'ServiceRoleBinding',
      schema: body(sec.serviceRoleBindingSpec),
      check: checkServiceRoleBinding,
    },
    {
      group: 'rbac.istio.io',
      versions: ['v1alpha1'],
      kind: 'RbacConfig',
      clusterScoped: true,
      schema: body(sec.rbacConfigSpec),
      check: checkRbacConfig,
    },
    {
      group: 'rbac.istio.io',
      versions: ['v1alpha1'],
      kind: 'ClusterRbacConfig',
      clusterScoped: true,
      schema: body(sec.rbacConfigSpec),
      check: checkRbacConfig,
    },
    { group: CONFIG, versions: ['v1alpha2'], kind: 'rule', schema: body(mixer.ruleSpec) },
    { group: CONFIG, versions: ['v1alpha2'], kind: 'handler', schema: body(mixer.handlerSpec) },
    { group: CONFIG, versions: ['v1alpha2'], kind: 'instance', schema: body(mixer.instanceSpec) },
    { group: CONFIG, versions: ['v1alpha2'], kind: 'attributemanifest', schema: body(mixer.attributeManifestSpec) },
    { group: CONFIG, versions: ['v1alpha2'], kind: 'adapter', schema: body(mixer.descriptorSpec) },
    { group: CONFIG, versions: ['v1alpha2'], kind: 'template', schema: body(mixer.descriptorSpec) },
    { group: CONFIG, versions: ['v1alpha2'], kind: 'QuotaSpec', schema: body(mixer.quotaSpecSpec) },
    { group: CONFIG, versions: ['v1alpha2'], kind: 'QuotaSpecBinding', schema: body(mixer.quotaSpecBindingSpec) },
    { group: CONFIG, versions: ['v1alpha2'], kind: 'HTTPAPISpec', schema: body(mixer.httpApiSpecSpec) },
    { group: CONFIG, versions: ['v1alpha2'], kind: 'HTTPAPISpecBinding', schema: body(mixer.httpApiSpecBindingSpec) },
    ...mixer.MIXER_PARAM_KINDS.map((kind): KindDef => ({
      group: CONFIG,
      versions: ['v1alpha2'],
      kind,
      schema: body(map(any())),
    })),
    { group: '', versions: ['v1'], kind: 'Service', schema: k8s.serviceBody },
    { group: '', versions: ['v1'], kind: 'Endpoints', specless: true, schema: k8s.endpointsBody },
    {
      group: 'discovery.k8s.io',
      versions: ['v1', 'v1beta1'],
      kind: 'EndpointSlice',
      specless: true,
      schema: k8s.endpointSliceBody,
    },
    { group: '', versions: ['v1'], kind: 'Pod', schema: k8s.podBody },
    { group: '', versions: ['v1'], kind: 'Namespace', clusterScoped: true, schema: k8s.namespaceBody },
    { group: '', versions: ['v1'], kind: 'ServiceAccount', specless: true, schema: k8s.serviceAccountBody },
    { group: '', versions: ['v1'], kind: 'ConfigMap', specless: true, schema: k8s.configMapBody },
    { group: '', versions: ['v1'], kind: 'Secret', specless: true, schema: k8s.secretBody },
    ...['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].map((kind): KindDef => ({
      group: 'apps',
      versions: ['v1', 'v1beta2', 'v1beta1'],
      // Istio 1.0-era manifests still wrote extensions/v1beta1.
      extraApiVersions: kind === 'StatefulSet' ? [] : ['extensions/v1beta1'],
      kind,
      schema: k8s.workloadBody,
    })),
  ];
  return kinds;
}

let registered = false;

/**
 * Registers the built-in kinds once. Called by the loader, `validate` and
 * the store's apply step before first use (explicitly, never on import); components may
 * call it themselves before `registerKind()` overrides.
 */
export function ensureBuiltinKinds(): void {
  if (registered) return;
  registered = true;
  for (const def of builtinKinds()) if (!kindRegistry.has(def.kind)) registerKind(def);
}
