import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAuthorizationFilters } from './authz-policy';
import { buildInboundSecurityFilters } from './filters';
import { emptySecurityConfigs, type SecurityConfigs, type WorkloadInfo } from './inputs';
import { buildJwtFilter, EMPTY_JWKS, referencedJwksUris } from './jwt';
import { buildOutboundTlsContext, planInboundChains, resolveMtlsMode, spiffeIdsFor } from './mtls';
import { buildRbacV1alpha1Filter, rbacEnforced } from './rbac-v1alpha1';

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const bookService: WorkloadInfo = {
  namespace: 'default',
  labels: { 'app.kubernetes.io/name': 'book-service', app: 'book-service' },
  services: [
    {
      name: 'book-service',
      hostname: 'book-service.default.svc.cluster.local',
      ports: [{ number: 8080, name: 'http' }],
    },
  ],
};
const JWKS_URI =
  'https://gist.githubusercontent.com/lordofthejars/7dad589384612d7a6e18398ac0f10065/raw/ea0f8e7b729fb1df25d4dc60bf17dee409aad204/jwks.json';

function seedConfigs(): SecurityConfigs {
  const c = emptySecurityConfigs();
  c.requestAuthentications.push({
    name: 'bookjwt',
    namespace: 'default',
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': 'book-service' } },
      jwtRules: [{ issuer: 'testing@secure.istio.io', jwksUri: JWKS_URI }],
    },
  });
  c.authorizationPolicies.push({
    name: 'require-jwt',
    namespace: 'default',
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': 'book-service' } },
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { requestPrincipals: ['testing@secure.istio.io/testing@secure.istio.io'] } }],
          when: [{ key: 'request.auth.claims[role]', values: ['customer'] }],
        },
      ],
    },
  });
  c.jwksFor = (uri) => (uri === JWKS_URI ? '__JWKS__' : undefined);
  return c;
}

test('seed: RequestAuthentication + AuthorizationPolicy compile to jwt_authn then RBAC ALLOW', () => {
  const { filters, warnings } = buildInboundSecurityFilters(bookService, seedConfigs(), 8080);
  expect(warnings).toEqual([]);
  expect(filters.map((f) => f['name'])).toEqual(['envoy.filters.http.jwt_authn', 'envoy.filters.http.rbac']);
  const jwt = filters[0]['typed_config'] as Msg;
  expect(jwt['providers']['origins-0']).toMatchObject({
    issuer: 'testing@secure.istio.io',
    local_jwks: { inline_string: '__JWKS__' },
    forward: false,
  });
  expect(jwt['rules'][0]['requires']).toEqual({
    requires_any: { requirements: [{ provider_name: 'origins-0' }, { allow_missing: {} }] },
  });
  // The same file drives the data-plane acceptance test (libs/dataplane/src/filters/http/rbac/seed.int.test.ts).
  const fixture = join(
    __dirname,
    '../../../../../libs/dataplane/src/filters/http/rbac/__fixtures__/seed-security-filters.json',
  );
  expect(filters).toEqual(JSON.parse(readFileSync(fixture, 'utf8')));
  const rbac = filters[1]['typed_config'] as Msg;
  expect(rbac['rules']['action']).toBe('ALLOW');
  const policy = rbac['rules']['policies']['ns[default]-policy[require-jwt]-rule[0]'];
  expect(JSON.stringify(policy['principals'])).toContain('"request.auth.principal"');
  expect(JSON.stringify(policy['principals'])).toContain('{"key":"request.auth.claims"},{"key":"role"}');
});

test('policies with a non-matching selector or another namespace do not apply', () => {
  const other: WorkloadInfo = { ...bookService, labels: { app: 'rating' } };
  expect(buildInboundSecurityFilters(other, seedConfigs(), 8080).filters).toEqual([]);
  const elsewhere: WorkloadInfo = { ...bookService, namespace: 'prod' };
  expect(buildInboundSecurityFilters(elsewhere, seedConfigs(), 8080).filters).toEqual([]);
});

test('JWKS not fetched yet → empty key set (fail closed); jwksUri list for the cache', () => {
  const c = seedConfigs();
  c.jwksFor = () => undefined;
  const jwt = buildJwtFilter(bookService, c, 8080)!;
  expect((jwt['typed_config'] as Msg)['providers']['origins-0']['local_jwks']['inline_string']).toBe(EMPTY_JWKS);
  expect(referencedJwksUris(c)).toEqual([JWKS_URI]);
});

test('RequestAuthentication fromCookies, outputClaimToHeaders, forwardOriginalToken, audiences', () => {
  const c = emptySecurityConfigs();
  c.requestAuthentications.push({
    name: 'ra',
    namespace: 'default',
    spec: {
      jwtRules: [
        {
          issuer: 'iss',
          jwks: '{"keys":[]}',
          audiences: ['books'],
          fromCookies: ['session'],
          forwardOriginalToken: true,
          outputClaimToHeaders: [{ header: 'x-role', claim: 'role' }],
        },
      ],
    },
  });
  const p = (buildJwtFilter(bookService, c, 8080)!['typed_config'] as Msg)['providers']['origins-0'];
  expect(p).toMatchObject({
    audiences: ['books'],
    from_cookies: ['session'],
    forward: true,
    claim_to_headers: [{ header_name: 'x-role', claim_name: 'role' }],
  });
});

test('1.0 Policy origins require a token unless originIsOptional', () => {
  const c = emptySecurityConfigs();
  c.policies.push({
    name: 'default',
    namespace: 'default',
    spec: { origins: [{ jwt: { issuer: 'iss', jwks: '{"keys":[]}', jwtHeaders: ['x-jwt'] } }] },
  });
  const jwt = buildJwtFilter(bookService, c, 8080)!['typed_config'] as Msg;
  expect(jwt['rules'][0]['requires']).toEqual({ provider_name: 'origins-0' });
  expect(jwt['providers']['origins-0']['from_headers']).toEqual([{ name: 'x-jwt' }]);
  c.policies[0].spec.originIsOptional = true;
  expect(
    (buildJwtFilter(bookService, c, 8080)!['typed_config'] as Msg)['rules'][0]['requires']['requires_any'],
  ).toBeDefined();
});

test('1.0 origin triggerRules: excluded paths first without a requirement, then included ones', () => {
  const c = emptySecurityConfigs();
  c.policies.push({
    name: 'default',
    namespace: 'default',
    spec: {
      origins: [
        {
          jwt: {
            issuer: 'iss',
            jwks: '{"keys":[]}',
            triggerRules: [
              { excludedPaths: [{ exact: '/health' }, { suffix: '.css' }], includedPaths: [{ prefix: '/api' }] },
            ],
          },
        },
      ],
    },
  });
  const rules = (buildJwtFilter(bookService, c, 8080)!['typed_config'] as Msg)['rules'];
  expect(rules).toEqual([
    { match: { path: '/health' } },
    { match: { safe_regex: { regex: '.*\\.css' } } },
    { match: { prefix: '/api' }, requires: { provider_name: 'origins-0' } },
  ]);
});

test('AuthorizationPolicy: DENY before ALLOW; ALLOW without rules denies all; no ALLOW → no ALLOW filter', () => {
  const c = emptySecurityConfigs();
  c.authorizationPolicies.push({
    name: 'deny-admin',
    namespace: 'default',
    spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }] },
  });
  let f = buildAuthorizationFilters(bookService, c).filters;
  expect(f.map((x) => (x['typed_config'] as Msg)['rules']['action'])).toEqual(['DENY']);
  c.authorizationPolicies.push({ name: 'deny-all', namespace: 'default', spec: {} });
  f = buildAuthorizationFilters(bookService, c).filters;
  expect(f.map((x) => (x['typed_config'] as Msg)['rules']['action'])).toEqual(['DENY', 'ALLOW']);
  expect((f[1]['typed_config'] as Msg)['rules']['policies']).toEqual({});
  expect(
    (f[0]['typed_config'] as Msg)['rules']['policies']['ns[default]-policy[deny-admin]-rule[0]']['permissions'],
  ).toEqual([{ and_rules: { rules: [{ url_path: { path: { prefix: '/admin' } } }] } }]);
});

test('AuthorizationPolicy sources, operations and conditions', () => {
  const c = emptySecurityConfigs();
  c.authorizationPolicies.push({
    name: 'p',
    namespace: 'istio-system',
    spec: {
      rules: [
        {
          from: [
            {
              source: {
                principals: ['cluster.local/ns/default/sa/productpage'],
                notNamespaces: ['test'],
                ipBlocks: ['10.0.0.0/8'],
              },
            },
          ],
          to: [
            { operation: { hosts: ['Reviews.default'], methods: ['get'], ports: ['9080'], notPaths: ['/private*'] } },
          ],
          when: [
            { key: 'request.headers[X-Env]', values: ['prod'] },
            { key: 'destination.port', notValues: ['15000'] },
          ],
        },
      ],
    },
  });
  const f = buildAuthorizationFilters(bookService, c).filters;
  expect(f).toHaveLength(1);
  const text = JSON.stringify(f[0]);
  expect(text).toContain('"exact":"spiffe://cluster.local/ns/default/sa/productpage"');
  expect(text).toContain('{"not_id":{"authenticated":{"principal_name":{"safe_regex":{"regex":".*/ns/test/.*"}}}}}');
  expect(text).toContain('{"direct_remote_ip":{"address_prefix":"10.0.0.0","prefix_len":{"value":8}}}');
  expect(text).toContain('{"exact":"reviews.default","ignore_case":true}');
  expect(text).toContain('{"name":":method","string_match":{"exact":"GET"}}');
  expect(text).toContain('{"destination_port":9080}');
  expect(text).toContain('{"not_rule":{"url_path":{"path":{"prefix":"/private"}}}}');
  expect(text).toContain('{"name":"x-env","string_match":{"exact":"prod"}}');
  expect(text).toContain('{"not_rule":{"destination_port":15000}}');
});

test('mTLS mode: PeerAuthentication precedence (workload > namespace > mesh, port-level), then 1.0 Policy', () => {
  const c = emptySecurityConfigs();
  expect(resolveMtlsMode(bookService, c, 8080)).toBe('DISABLE');
  c.meshPolicies.push({ name: 'default', namespace: '', spec: { peers: [{ mtls: {} }] } });
  expect(resolveMtlsMode(bookService, c, 8080)).toBe('STRICT');
  c.policies.push({ name: 'default', namespace: 'default', spec: { peers: [{ mtls: { mode: 'PERMISSIVE' } }] } });
  expect(resolveMtlsMode(bookService, c, 8080)).toBe('PERMISSIVE');
  c.policies.push({
    name: 'book',
    namespace: 'default',
    spec: { targets: [{ name: 'book-service', ports: [{ number: 8080 }] }], peers: [] },
  });
  expect(resolveMtlsMode(bookService, c, 8080)).toBe('DISABLE');
  c.peerAuthentications.push({ name: 'default', namespace: 'istio-system', spec: { mtls: { mode: 'STRICT' } } });
  expect(resolveMtlsMode(bookService, c, 8080)).toBe('STRICT');
  c.peerAuthentications.push({ name: 'ns', namespace: 'default', spec: { mtls: { mode: 'PERMISSIVE' } } });
  expect(resolveMtlsMode(bookService, c, 8080)).toBe('PERMISSIVE');
  c.peerAuthentications.push({
    name: 'wl',
    namespace: 'default',
    spec: {
      selector: { matchLabels: { app: 'book-service' } },
      mtls: { mode: 'UNSET' },
      portLevelMtls: { '9000': { mode: 'DISABLE' } },
    },
  });
  expect(resolveMtlsMode(bookService, c, 8080)).toBe('PERMISSIVE');
  expect(resolveMtlsMode(bookService, c, 9000)).toBe('DISABLE');
});

test('inbound chains: STRICT has only a TLS chain; PERMISSIVE adds plaintext after it; tls_inspector present', () => {
  const strict = planInboundChains('STRICT');
  expect(strict.chains).toHaveLength(1);
  expect(strict.chains[0].filter_chain_match).toEqual({ transport_protocol: 'tls' });
  expect(strict.chains[0].transport_socket?.['typed_config']).toMatchObject({
    require_client_certificate: { value: true },
  });
  expect(strict.listenerFilters[0]['name']).toBe('envoy.filters.listener.tls_inspector');
  const permissive = planInboundChains('PERMISSIVE');
  expect(permissive.chains.map((ch) => ch.mtls)).toEqual([true, false]);
  expect(planInboundChains('DISABLE')).toEqual({ listenerFilters: [], chains: [{ mtls: false }] });
});

test('outbound ISTIO_MUTUAL: workload cert by SDS, ALPN istio, secure naming on the service accounts', () => {
  const ids = spiffeIdsFor(['default/bookinfo-reviews', 'reviews-v2'], 'cluster.local');
  expect(ids).toEqual([
    'spiffe://cluster.local/ns/default/sa/bookinfo-reviews',
    'spiffe://cluster.local/ns/default/sa/reviews-v2',
  ]);
  const ts = buildOutboundTlsContext({ mode: 'ISTIO_MUTUAL' }, ids, {
    sni: 'outbound_.9080_.v1_.reviews.default.svc.cluster.local',
  })!;
  const tc = ts['typed_config'] as Msg;
  expect(tc['common_tls_context']['alpn_protocols']).toEqual(['istio']);
  expect(tc['common_tls_context']['tls_certificate_sds_secret_configs'][0]['name']).toBe('default');
  expect(
    tc['common_tls_context']['combined_validation_context']['default_validation_context'][
      'match_typed_subject_alt_names'
    ],
  ).toEqual(ids.map((id) => ({ san_type: 'URI', matcher: { exact: id } })));
  expect(tc['sni']).toBe('outbound_.9080_.v1_.reviews.default.svc.cluster.local');
  expect(buildOutboundTlsContext({ mode: 'DISABLE' }, ids)).toBeUndefined();
  expect(buildOutboundTlsContext(undefined, ids)).toBeUndefined();
  const simple = buildOutboundTlsContext(
    { mode: 'SIMPLE', caCertificates: '/etc/ca.pem', subjectAltNames: ['api.example.com'], sni: 'api.example.com' },
    [],
  )!;
  expect(simple['typed_config']).toMatchObject({
    sni: 'api.example.com',
    common_tls_context: { validation_context: { trusted_ca: { filename: '/etc/ca.pem' } } },
  });
  const files = buildOutboundTlsContext({ mode: 'ISTIO_MUTUAL' }, ids, {
    certSource: { kind: 'files', dir: '/etc/certs' },
  })!;
  expect(JSON.stringify(files)).toContain('/etc/certs/cert-chain.pem');
});

test('1.0 RBAC: RbacConfig modes, ServiceRole/Binding → ALLOW policies, default deny, PERMISSIVE → shadow', () => {
  expect(rbacEnforced({ mode: 'OFF' }, 'a.default.svc.cluster.local', 'default')).toBe(false);
  expect(rbacEnforced({ mode: 'ON' }, 'a.default.svc.cluster.local', 'default')).toBe(true);
  expect(rbacEnforced({ mode: 'ON_WITH_INCLUSION', inclusion: { namespaces: ['default'] } }, 'x', 'default')).toBe(
    true,
  );
  expect(rbacEnforced({ mode: 'ON_WITH_INCLUSION', inclusion: { services: ['y'] } }, 'x', 'default')).toBe(false);
  expect(rbacEnforced({ mode: 'ON_WITH_EXCLUSION', exclusion: { services: ['x'] } }, 'x', 'default')).toBe(false);
  const c = emptySecurityConfigs();
  expect(buildRbacV1alpha1Filter(bookService, c)).toBeUndefined();
  c.rbacConfig = { mode: 'ON' };
  expect((buildRbacV1alpha1Filter(bookService, c)!['typed_config'] as Msg)['rules']).toEqual({
    action: 'ALLOW',
    policies: {},
  });
  c.serviceRoles.push({
    name: 'book-viewer',
    namespace: 'default',
    spec: {
      rules: [
        {
          services: ['book-service.default.svc.cluster.local'],
          methods: ['GET'],
          paths: ['/book/*'],
          constraints: [{ key: 'destination.labels[app]', values: ['book-service'] }],
        },
      ],
    },
  });
  c.serviceRoleBindings.push({
    name: 'bind',
    namespace: 'default',
    spec: {
      subjects: [{ user: 'cluster.local/ns/default/sa/productpage' }, { properties: { 'source.namespace': 'shop' } }],
      roleRef: { kind: 'ServiceRole', name: 'book-viewer' },
    },
  });
  c.serviceRoleBindings.push({
    name: 'try',
    namespace: 'default',
    spec: { subjects: [{ user: '*' }], roleRef: { kind: 'ServiceRole', name: 'book-viewer' }, mode: 'PERMISSIVE' },
  });
  const typed = buildRbacV1alpha1Filter(bookService, c)!['typed_config'] as Msg;
  const pol = typed['rules']['policies']['book-viewer'];
  expect(pol['permissions']).toEqual([
    {
      and_rules: {
        rules: [
          { url_path: { path: { prefix: '/book/' } } },
          { header: { name: ':method', string_match: { exact: 'GET' } } },
        ],
      },
    },
  ]);
  expect(pol['principals']).toEqual([
    { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/productpage' } } },
    { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/shop/.*' } } } },
  ]);
  expect(typed['shadow_rules']['policies']['book-viewer']['principals']).toEqual([{ any: true }]);
});
