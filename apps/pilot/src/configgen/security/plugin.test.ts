import { contextFrom, sidecar } from '../../testing/bookinfo';
import { securityPlugins } from './plugin';

const SEED = `
apiVersion: "security.istio.io/v1beta1"
kind: "RequestAuthentication"
metadata:
 name: "bookjwt"
 namespace: default
spec:
 selector:
   matchLabels:
     app.kubernetes.io/name: book-service
 jwtRules:
 - issuer: "testing@secure.istio.io"
   jwksUri: "https://example.invalid/jwks.json"
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
 name: require-jwt
 namespace: default
spec:
 selector:
   matchLabels:
     app.kubernetes.io/name: book-service
 action: ALLOW
 rules:
 - from:
   - source:
      requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"]
   when:
   - key: request.auth.claims[role]
     values: ["customer"]
---
apiVersion: "authentication.istio.io/v1alpha1"
kind: "Policy"
metadata:
  name: "default"
  namespace: "default"
spec:
  peers:
  - mtls: {}
`;

test('plugins read the seed objects from the push store and fill the authn/rbac slots', () => {
  const ctx = contextFrom([SEED]);
  const proxy = sidecar('10.1.0.20', 'book-service-v1-abc', { 'app.kubernetes.io/name': 'book-service' });
  const svc = {
    hostname: 'book-service.default.svc.cluster.local',
    name: 'book-service',
    namespace: 'default',
    address: '10.0.0.9',
    ports: [{ name: 'http', port: 8080, protocol: 'HTTP' as const }],
    resolution: 'EDS' as const,
    meshExternal: false,
    source: 'x',
  };
  const input = { proxy, ctx, service: svc, port: svc.ports[0], direction: 'inbound' as const };
  const [authn, rbac] = securityPlugins();
  expect(authn.httpFilters?.(input).map((f) => f['name'])).toEqual(['envoy.filters.http.jwt_authn']);
  expect(rbac.httpFilters?.(input).map((f) => f['name'])).toEqual(['envoy.filters.http.rbac']);
  expect(authn.inboundTransportSocket?.(input)?.['name']).toBe('envoy.transport_sockets.tls');
  expect(authn.httpFilters?.({ ...input, direction: 'outbound' })).toEqual([]);
  const plan = authn.inboundChainPlan?.(input);
  expect(plan?.chains).toHaveLength(1);
  expect(Object.keys(plan?.chains[0] ?? {}).sort()).toEqual(['filter_chain_match', 'transport_socket']);
  expect(plan?.listenerFilters[0]['name']).toBe('envoy.filters.listener.tls_inspector');
});
