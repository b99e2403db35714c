import { loadYaml } from './loader';
import { validate } from './validate';
import type { ConfigObject } from './types/object';
import type { VirtualServiceSpec } from './types/networking';
import type { DestinationRuleSpec } from './types/destination-rule';

function normalized<S>(yaml: string): { obj: ConfigObject<S>; warnings: string[] } {
  const r = loadYaml(yaml, 't.yaml');
  expect(r.errors).toEqual([]);
  const v = validate(r.objects[0]);
  expect(v.errors).toEqual([]);
  return { obj: v.object as ConfigObject<S>, warnings: v.warnings.map((w) => `${w.path}: ${w.message}`) };
}

const vs = (version: string, http: string) => `apiVersion: networking.istio.io/${version}
kind: VirtualService
metadata: {name: ratings, namespace: shop}
spec:
  hosts: [ratings]
  http:
${http}`;

describe('both field forms give the same normalized object', () => {
  it('fault percent (1.0) and percentage.value (1.1+)', () => {
    const old = normalized<VirtualServiceSpec>(
      vs(
        'v1alpha3',
        `  - fault:
      abort: {httpStatus: 503, percent: 50}
      delay: {fixedDelay: 7s, percent: 10}
    route:
    - destination: {host: ratings, subset: v1}
`,
      ),
    );
    const later = normalized<VirtualServiceSpec>(
      vs(
        'v1',
        `  - fault:
      abort: {httpStatus: 503, percentage: {value: 50}}
      delay: {fixedDelay: 7s, percentage: {value: 10}}
    route:
    - destination: {host: ratings, subset: v1}
`,
      ),
    );
    expect(old.obj.spec).toEqual(later.obj.spec);
    expect(old.obj.spec.http?.[0].fault?.abort).toEqual({ httpStatus: 503, percentage: { value: 50 } });
    expect(old.obj.raw).toMatchObject({ spec: { http: [{ fault: { abort: { percent: 50 } } }] } });
  });

  it('appendHeaders / removeResponseHeaders (1.0) and headers.request/response (1.1+)', () => {
    const old = normalized<VirtualServiceSpec>(
      vs(
        'v1alpha3',
        `  - route:
    - destination: {host: ratings}
    appendHeaders: {x-mesh: tsmesh}
    appendResponseHeaders: {x-served-by: ratings}
    removeResponseHeaders: [server]
    removeRequestHeaders: [cookie]
`,
      ),
    );
    const later = normalized<VirtualServiceSpec>(
      vs(
        'v1beta1',
        `  - route:
    - destination: {host: ratings}
    headers:
      request: {add: {x-mesh: tsmesh}, remove: [cookie]}
      response: {add: {x-served-by: ratings}, remove: [server]}
`,
      ),
    );
    expect(old.obj.spec).toEqual(later.obj.spec);
  });

  it('consecutiveErrors (1.0) and consecutive5xxErrors (1.5+), snake_case keys too', () => {
    const dr = (od: string) => `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: ratings}
spec:
  host: ratings
  trafficPolicy:
    outlierDetection: {${od}, interval: 1s, baseEjectionTime: 3m}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      outlierDetection: {${od}}
`;
    const a = normalized<DestinationRuleSpec>(dr('consecutiveErrors: 1'));
    const b = normalized<DestinationRuleSpec>(dr('consecutive5xxErrors: 1'));
    const c = normalized<DestinationRuleSpec>(dr('consecutive_5xx_errors: 1'));
    expect(a.obj.spec).toEqual(b.obj.spec);
    expect(c.obj.spec).toEqual(b.obj.spec);
    expect(b.obj.spec.trafficPolicy?.outlierDetection?.consecutive5xxErrors).toBe(1);
  });

  it('mirrorPercent (1.4) and mirrorPercentage (1.5+)', () => {
    const route = (m: string) => `  - route:
    - destination: {host: ratings, subset: v1}
    mirror: {host: ratings, subset: v2}
    ${m}
`;
    const a = normalized<VirtualServiceSpec>(vs('v1alpha3', route('mirrorPercent: 25')));
    const b = normalized<VirtualServiceSpec>(vs('v1beta1', route('mirrorPercentage: {value: 25}')));
    expect(a.obj.spec).toEqual(b.obj.spec);
  });

  it('retryOn stays a string; destination.port.number is kept; websocketUpgrade is dropped with a warning', () => {
    const r = normalized<VirtualServiceSpec>(
      vs(
        'v1alpha3',
        `  - route:
    - destination: {host: ratings, port: {number: 9080}}
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,connect-failure"}
    websocketUpgrade: true
`,
      ),
    );
    const http = r.obj.spec.http?.[0];
    expect(http?.retries).toEqual({ attempts: 3, perTryTimeout: '2s', retryOn: '5xx,connect-failure' });
    expect(http?.route?.[0].destination.port).toEqual({ number: 9080 });
    expect(http).not.toHaveProperty('websocketUpgrade');
    expect(r.warnings).toEqual([
      'spec.http[0].websocketUpgrade: websocketUpgrade is ignored: WebSocket upgrades are always allowed',
    ]);
  });

  it('1.0 corsPolicy.allowOrigin becomes allowOrigins exact matches', () => {
    const r = normalized<VirtualServiceSpec>(
      vs(
        'v1alpha3',
        `  - route:
    - destination: {host: ratings}
    corsPolicy: {allowOrigin: [example.com], maxAge: 24h}
`,
      ),
    );
    expect(r.obj.spec.http?.[0].corsPolicy).toEqual({ allowOrigins: [{ exact: 'example.com' }], maxAge: '24h' });
  });

  it('ServiceEntry protocols are upper-cased and AuthorizationPolicy action defaults to ALLOW', () => {
    const se = normalized<{ ports: { protocol: string }[] }>(`apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: httpbin}
spec:
  hosts: [now.httpbin.org]
  ports: [{name: http-80, number: 80, protocol: http}]
`);
    expect(se.obj.spec.ports[0].protocol).toBe('HTTP');
    const ap = normalized<{ action: string }>(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing}
spec: {}
`);
    expect(ap.obj.spec.action).toBe('ALLOW');
  });

  it('authentication Policy peers accept "mtls:" with no value', () => {
    const p = normalized<{ peers: unknown[] }>(`apiVersion: authentication.istio.io/v1alpha1
kind: Policy
metadata: {name: default}
spec:
  peers:
  - mtls:
`);
    expect(p.obj.spec.peers).toEqual([{ mtls: {} }]);
  });
});
