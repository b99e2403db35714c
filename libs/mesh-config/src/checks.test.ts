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

  it('PeerAuthentication portLevelMtls needs a selector and port keys', () => {
    expect(
      errors(`apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: p}
spec:
  portLevelMtls:
    http: {mode: DISABLE}
`),
    ).toEqual([
      'spec.portLevelMtls: portLevelMtls requires a workload selector',
      'spec.portLevelMtls.http: "http" is not a port number',
    ]);
  });
});
