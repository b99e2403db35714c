import { bool, dur, enm, int, list, map, obj, str, strList, strMap } from '../schema';

/**
 * Field specs for `authentication.istio.io/v1alpha1`, `security.istio.io`
 * (v1beta1, v1) and `rbac.istio.io/v1alpha1`. Source: istio/api
 * `authentication/v1alpha1/policy.proto`, `security/v1beta1/*.proto`,
 * `rbac/v1alpha1/rbac.proto`.
 */

const stringMatchLoose = obj({ exact: str(), prefix: str(), suffix: str(), regex: str() });

const jwt = obj(
  {
    issuer: str(),
    audiences: strList(),
    jwksUri: str(),
    jwks: str(),
    jwtHeaders: strList(),
    jwtParams: strList(),
    triggerRules: list(obj({ excludedPaths: list(stringMatchLoose), includedPaths: list(stringMatchLoose) })),
  },
  { required: ['issuer'] },
);

export const authenticationPolicySpec = obj({
  targets: list(
    obj(
      { name: str(), labels: strMap(), ports: list(obj({ number: int(1, 65535), name: str() })) },
      { required: ['name'] },
    ),
  ),
  peers: list(
    obj({ mtls: obj({ mode: enm('STRICT', 'PERMISSIVE'), allowTls: bool() }), jwt }, { oneOf: ['mtls', 'jwt'] }),
  ),
  peerIsOptional: bool(),
  origins: list(obj({ jwt }, { required: ['jwt'] })),
  originIsOptional: bool(),
  principalBinding: enm('USE_PEER', 'USE_ORIGIN'),
});

const selector = obj({ matchLabels: strMap() });
const targetRef = obj({ group: str(), kind: str(), name: str(), namespace: str() }, { required: ['kind', 'name'] });
const peerMode = enm('UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT');

export const peerAuthenticationSpec = obj({
  selector,
  mtls: obj({ mode: peerMode }),
  portLevelMtls: map(obj({ mode: peerMode })),
});

export const requestAuthenticationSpec = obj({
  selector,
  targetRef,
  targetRefs: list(targetRef),
  jwtRules: list(
    obj(
      {
        issuer: str(),
        audiences: strList(),
        jwksUri: str(),
        jwks: str(),
        fromHeaders: list(obj({ name: str(), prefix: str() }, { required: ['name'] })),
        fromParams: strList(),
        fromCookies: strList(),
        outputPayloadToHeader: str(),
        forwardOriginalToken: bool(),
        outputClaimToHeaders: list(obj({ header: str(), claim: str() })),
        timeout: dur(),
        spaceDelimitedClaims: strList(),
      },
      { required: ['issuer'] },
    ),
  ),
});

const source = obj({
  principals: strList(),
  notPrincipals: strList(),
  requestPrincipals: strList(),
  notRequestPrincipals: strList(),
  namespaces: strList(),
  notNamespaces: strList(),
  ipBlocks: strList(),
  notIpBlocks: strList(),
  remoteIpBlocks: strList(),
  notRemoteIpBlocks: strList(),
  serviceAccounts: strList(),
  notServiceAccounts: strList(),
  trustDomains: strList(),
  notTrustDomains: strList(),
});

const operation = obj({
  hosts: strList(),
  notHosts: strList(),
  ports: strList(),
  notPorts: strList(),
  methods: strList(),
  notMethods: strList(),
  paths: strList(),
  notPaths: strList(),
});

export const authorizationPolicySpec = obj({
  selector,
  targetRef,
  targetRefs: list(targetRef),
  rules: list(
    obj({
      from: list(obj({ source }, { required: ['source'] })),
      to: list(obj({ operation }, { required: ['operation'] })),
      when: list(obj({ key: str(), values: strList(), notValues: strList() }, { required: ['key'] })),
    }),
  ),
  action: enm('ALLOW', 'DENY', 'AUDIT', 'CUSTOM'),
  provider: obj({ name: str() }, { required: ['name'] }),
});

const accessRule = obj(
  {
    services: strList(),
    paths: strList(),
    notPaths: strList(),
    methods: strList(),
    notMethods: strList(),
    hosts: strList(),
    notHosts: strList(),
    ports: list(int(0, 65535)),
    notPorts: list(int(0, 65535)),
    constraints: list(obj({ key: str(), values: strList() }, { required: ['key'] })),
  },
  { required: ['services'] },
);

export const serviceRoleSpec = obj({ rules: list(accessRule) }, { required: ['rules'] });

export const serviceRoleBindingSpec = obj(
  {
    subjects: list(
      obj({
        user: str(),
        group: str(),
        properties: strMap(),
        names: strList(),
        notNames: strList(),
        groups: strList(),
        notGroups: strList(),
        namespaces: strList(),
        notNamespaces: strList(),
        ips: strList(),
        notIps: strList(),
      }),
    ),
    roleRef: obj({ kind: str(), name: str() }, { required: ['kind', 'name'] }),
    role: str(),
    actions: list(accessRule),
    mode: enm('ENFORCED', 'PERMISSIVE'),
  },
  { required: ['subjects'] },
);

const rbacTarget = obj({ services: strList(), namespaces: strList() });

export const rbacConfigSpec = obj({
  mode: enm('OFF', 'ON', 'ON_WITH_INCLUSION', 'ON_WITH_EXCLUSION'),
  inclusion: rbacTarget,
  exclusion: rbacTarget,
  enforcementMode: enm('ENFORCED', 'PERMISSIVE'),
});
