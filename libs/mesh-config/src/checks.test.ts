import { loadYaml } from './loader';
import { validate } from './validate';

function errors(yaml: string): string[] {
  const r = loadYaml(yaml, 'c.yaml');
  expect(r.errors).toEqual([]);
  return validate(r.objects[0]).errors.map((e) => `${e.path}: ${e.message}`);
}

describe('VirtualService semantic checks (Istio validation rules)', () => {
  const vs = (http: string, extra = '') => `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: r}
spec:
  hosts: [reviews]
${extra}  http:
${http}`;

  it('redirect needs a target and excludes route and rewrite', () => {
    expect(
      errors(
        vs(`  - redirect: {}
    rewrite: {uri: /}
    route:
    - destination: {host: reviews}
`),
      ),
    ).toEqual([
      'spec.http[0]: route and redirect cannot both be set',
      'spec.http[0]: redirect and rewrite cannot both be set',
      'spec.http[0].redirect: redirect must specify uri, authority, port, scheme or prefixRewrite',
    ]);
  });

  it('rewrite needs something to rewrite; CORS methods must be HTTP methods', () => {
    expect(
      errors(
        vs(`  - route:
    - destination: {host: reviews}
    rewrite: {}
    corsPolicy: {allowMethods: [GET, FETCH]}
`),
      ),
    ).toEqual([
      'spec.http[0].rewrite: rewrite must specify uri, authority or uriRegexRewrite',
      'spec.http[0].corsPolicy.allowMethods[1]: invalid HTTP method FETCH',
    ]);
  });

  it('destinations: no * host, subset names are DNS labels', () => {
    expect(
      errors(
        vs(`  - route:
    - destination: {host: "*", subset: V_1}
`),
      ),
    ).toEqual([
      'spec.http[0].route[0].destination.host: destination host cannot be *',
      'spec.http[0].route[0].destination.subset: subset name "V_1" must be a lower-case DNS-1123 label',
    ]);
  });

  it('TLS routes: sni hosts must be covered by the virtual service hosts', () => {
    const yaml = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: r}
spec:
  hosts: ["*.example.com"]
  tls:
  - match:
    - sniHosts: [a.example.com, other.org]
    route:
    - destination: {host: a.example.com}
`;
    expect(errors(yaml)).toEqual([
      'spec.tls[0].match[0].sniHosts[1]: sni host other.org is not matched by any of the virtual service hosts',
    ]);
  });
});

describe('DestinationRule, Gateway, ServiceEntry checks', () => {
  it('MUTUAL client TLS needs a certificate and key; port-level settings need distinct ports', () => {
    expect(
      errors(`apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: r}
spec:
  host: reviews
  trafficPolicy:
    tls: {mode: MUTUAL}
    portLevelSettings:
    - port: {number: 80}
    - port: {number: 80}
  subsets:
  - name: v1
    labels: {"bad key!": v1}
`),
    ).toEqual([
      'spec.trafficPolicy.tls.clientCertificate: required field is missing',
      'spec.trafficPolicy.tls.privateKey: required field is missing',
      'spec.trafficPolicy.portLevelSettings[1].port.number: duplicate port 80 in portLevelSettings',
      'spec.subsets[0].labels.bad key!: invalid label name "bad key!"',
    ]);
  });

  it('SIMPLE server TLS needs certificate and key unless a credential is named', () => {
    const gw = (tls: string) => `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: g}
spec:
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [a.example.com]
    tls: ${tls}
`;
    expect(errors(gw('{mode: SIMPLE}'))).toEqual([
      'spec.servers[0].tls.serverCertificate: required field is missing',
      'spec.servers[0].tls.privateKey: required field is missing',
    ]);
    expect(errors(gw('{mode: SIMPLE, credentialName: a-cert}'))).toEqual([]);
  });

  it('ServiceEntry: IP addresses, STATIC endpoints, port names', () => {
    expect(
      errors(`apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: s}
spec:
  hosts: [db.internal]
  addresses: [10.0.0.0/33, 10.1.0.1]
  ports:
  - {number: 5432, name: tcp-pg, protocol: TCP}
  - {number: 5433, name: tcp-pg, protocol: TCP}
  resolution: STATIC
  endpoints:
  - address: db1.internal
    ports: {postgres: 5432}
`),
    ).toEqual([
      'spec.addresses[0]: "10.0.0.0/33" is not an IP address or CIDR',
      'spec.ports[1].name: duplicate port name tcp-pg',
      'spec.endpoints[0].address: "db1.internal" is not an IP address (resolution STATIC)',
      'spec.endpoints[0].ports.postgres: no service port is named postgres',
    ]);
  });
});

describe('security checks', () => {
  it('AuthorizationPolicy condition keys, IPs and ports', () => {
    expect(
      errors(`apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: {name: a}
spec:
  rules:
  - from:
    - source: {ipBlocks: [10.0.0.0/8, nope]}
    to:
    - operation: {ports: ["8080", http]}
    when:
    - key: request.auth.claims[groups]
      values: [admin]
    - {key: request.headers, values: [x]}
    - {key: source.ip, notValues: [1.2.3.4/40]}
    - {key: request.colour, values: [red]}
    - {key: destination.port, values: ["80"]}
`),
    ).toEqual([
      'spec.rules[0].when[1].key: request.headers must be written request.headers[name]',
      'spec.rules[0].when[2].values: "1.2.3.4/40" is not an IP address or CIDR',
      'spec.rules[0].when[3].key: unknown attribute request.colour',
      'spec.rules[0].from[0].source.ipBlocks[1]: "nope" is not an IP address or CIDR',
      'spec.rules[0].to[0].operation.ports[1]: "http" is not a port number',
    ]);
  });

  it('PeerAuthentication portLevelMtls needs a workload selector and port keys', () => {
    expect(
      errors(`apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: p}
spec:
  portLevelMtls:
    http: {mode: DISABLE}
`),
    ).toEqual([
      'spec.portLevelMtls: mesh/namespace peer authentication cannot have port level mTLS',
      'spec.portLevelMtls.http: "http" is not a port number',
    ]);
  });
});

describe('Istio 1.0 security kinds', () => {
  const policy = (name: string, spec: string) => `apiVersion: authentication.istio.io/v1alpha1
kind: Policy
metadata: {name: ${name}}
spec:
${spec}`;

  it('Policy naming rules and JWT issuers', () => {
    expect(errors(policy('reviews', '  peers:\n  - mtls: {}\n'))).toEqual([
      'metadata.name: authentication policy with no target rules must be named "default", found "reviews"',
    ]);
    expect(
      errors(
        policy(
          'default',
          `  targets: [{name: bad.target}]
  origins:
  - jwt: {issuer: a, jwksUri: "ftp://x"}
  - jwt: {issuer: a}
`,
        ),
      ),
    ).toEqual([
      'spec.targets: authentication policy with name "default" must not have any target rules',
      'spec.targets[0].name: target name "bad.target" must be a lower-case DNS-1123 label',
      'spec.origins[0].jwt.jwksUri: jwksUri must be an http(s) URL',
      'spec.origins[1].jwt.issuer: jwt with issuer "a" already defined',
    ]);
  });

  it('MeshPolicy must be named default and has no targets', () => {
    expect(
      errors(`apiVersion: authentication.istio.io/v1alpha1
kind: MeshPolicy
metadata: {name: boo}
spec:
  targets: [{name: a}]
`),
    ).toEqual([
      'metadata.name: cluster-scoped authentication policy name must be "default", found "boo"',
      'spec.targets: cluster-scoped authentication policy must not have targets',
    ]);
  });

  it('ServiceRole and ServiceRoleBinding rules', () => {
    expect(
      errors(`apiVersion: rbac.istio.io/v1alpha1
kind: ServiceRole
metadata: {name: r}
spec:
  rules:
  - services: ["*"]
    methods: [GET]
    notMethods: [POST]
    constraints:
    - key: destination.labels[version]
      values: []
`),
    ).toEqual([
      'spec.rules[0]: cannot have both methods and notMethods',
      'spec.rules[0].constraints[0].values: required field is missing',
    ]);
    expect(
      errors(`apiVersion: rbac.istio.io/v1alpha1
kind: ServiceRoleBinding
metadata: {name: b}
spec:
  subjects: [{names: ["*"]}]
  roleRef: {kind: ClusterRole, name: r}
  role: r
`),
    ).toEqual([
      'spec.subjects[0].names: do not use * in names',
      'spec: exactly one of roleRef, role or actions must be set',
      'spec.roleRef.kind: kind set to "ClusterRole", the only supported value is "ServiceRole"',
    ]);
  });
});

describe('more VirtualService and Sidecar rules', () => {
  it('duplicate hosts, conflicting actions and header edits', () => {
    expect(
      errors(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r}
spec:
  hosts: ["*.example.com", api.example.com]
  gateways: [gw]
  http:
  - redirect: {uri: /x}
    fault: {abort: {httpStatus: 500}}
  - route:
    - destination: {host: api.example.com}
    mirror: {host: a.example.com}
    mirrors:
    - destination: {host: b.example.com}
    rewrite: {authority: a.example.com}
    headers:
      request:
        set: {host: b.example.com, ":path": /x}
      response:
        remove: [host]
`),
    ).toEqual([
      'spec.hosts[1]: duplicate hosts in virtual service: *.example.com & api.example.com',
      'spec.http[0]: fault and redirect cannot both be set',
      'spec.http[1]: mirror and mirrors cannot both be set',
      'spec.http[1].headers.request.set.host: authority header cannot be set multiple times (also set by rewrite.authority)',
      'spec.http[1].headers.request.set.:path: invalid header :path: header cannot have ":" prefix',
      'spec.http[1].headers.response.remove.host: cannot set Host header',
    ]);
  });

  it('an empty Sidecar is refused', () => {
    expect(
      errors('apiVersion: networking.istio.io/v1beta1\nkind: Sidecar\nmetadata: {name: s}\nspec:\n  egress:\n'),
    ).toEqual(['spec: sidecar: empty configuration provided']);
  });
});
