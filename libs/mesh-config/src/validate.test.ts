import { loadYaml } from './loader';
import { validate, validateAll } from './validate';
import { formatConfigError, type ConfigObject } from './types/object';

function one(yaml: string, file = 'test.yaml'): ConfigObject {
  const r = loadYaml(yaml, file);
  expect(r.errors).toEqual([]);
  expect(r.objects).toHaveLength(1);
  return r.objects[0];
}

function messages(yaml: string): string[] {
  const r = loadYaml(yaml, 'vs.yaml');
  return [...r.errors, ...validateAll(r.objects).errors].filter((e) => e.severity === 'error').map(formatConfigError);
}

const VS_HEAD = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
`;

describe('field errors, each with file, line, object and path', () => {
  it('weights that do not sum to 100 (the documented message format)', () => {
    const yaml = `${VS_HEAD}  - route:
    - destination: {host: reviews, subset: v1}
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 50
    - destination: {host: reviews, subset: v2}
      weight: 40
`;
    expect(messages(yaml)).toEqual([
      'vs.yaml:12: VirtualService default/reviews: spec.http[1].route[0].weight: weights must sum to 100, got 90',
    ]);
  });

  it('a bad duration', () => {
    const yaml = `${VS_HEAD}  - route:
    - destination: {host: reviews}
    timeout: 10 seconds
`;
    expect(messages(yaml)).toEqual([
      'vs.yaml:10: VirtualService default/reviews: spec.http[0].timeout: invalid duration "10 seconds"',
    ]);
  });

  it('a regex RE2 does not accept', () => {
    const yaml = `${VS_HEAD}  - match:
    - uri:
        regex: "/api/(?=v1)"
    route:
    - destination: {host: reviews}
`;
    const [msg] = messages(yaml);
    expect(msg).toMatch(
      /^vs\.yaml:10: VirtualService default\/reviews: spec\.http\[0\]\.match\[0\]\.uri\.regex: invalid regex "\/api\/\(\?=v1\)": /,
    );
  });

  it('an unknown field, with its path', () => {
    const yaml = `${VS_HEAD}  - route:
    - destination: {host: reviews}
      wieght: 100
`;
    expect(messages(yaml)).toEqual([
      'vs.yaml:10: VirtualService default/reviews: spec.http[0].route[0].wieght: unknown field "wieght" (did you mean "weight"?)',
    ]);
  });

  it('a wrong type', () => {
    const yaml = `${VS_HEAD}  - route:
    - destination: {host: reviews}
    retries:
      attempts: three
`;
    expect(messages(yaml)).toEqual([
      'vs.yaml:11: VirtualService default/reviews: spec.http[0].retries.attempts: expected integer, got string',
    ]);
  });

  it('an unknown kind names the kind and the file', () => {
    const yaml = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualServise
metadata: {name: reviews}
spec: {}
`;
    expect(messages(yaml)).toEqual([
      'vs.yaml:2: VirtualServise default/reviews: kind: unknown kind VirtualServise (networking.istio.io/v1alpha3)',
    ]);
  });

  it('a kind under the wrong apiVersion', () => {
    const yaml = `apiVersion: networking.istio.io/v1alpha1
kind: Gateway
metadata: {name: gw}
spec:
  servers:
  - port: {number: 80, protocol: HTTP, name: http}
    hosts: ["*"]
`;
    expect(messages(yaml)[0]).toContain('apiVersion: kind Gateway is not served by networking.istio.io/v1alpha1');
  });

  it('invalid YAML is reported with its line', () => {
    const yaml = `apiVersion: v1
kind: Service
metadata:
  name: a
---
apiVersion: v1
kind: Service
metadata:
  name: [b
`;
    const r = loadYaml(yaml, 'bad.yaml');
    expect(r.objects.map((o) => o.metadata.name)).toEqual(['a']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ file: 'bad.yaml', severity: 'error', code: 'MESH_CONFIG_ERR_INVALID_YAML' });
    expect(r.errors[0].line).toBeGreaterThanOrEqual(9);
    expect(formatConfigError(r.errors[0])).toMatch(/^bad\.yaml:\d+: invalid YAML\/JSON: /);
  });

  it('collects every error of an object, not just the first', () => {
    const yaml = `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: r}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: FASTEST}
    connectionPool:
      tcp: {connectTimeout: soon, maxConnections: -1}
  subsets:
  - name: v1
  - name: v1
`;
    const paths = validate(one(yaml)).errors.map((e) => e.path);
    expect(paths).toEqual([
      'spec.trafficPolicy.loadBalancer.simple',
      'spec.trafficPolicy.connectionPool.tcp.connectTimeout',
      'spec.trafficPolicy.connectionPool.tcp.maxConnections',
      'spec.subsets[1].name',
    ]);
  });

  it('missing required fields and host rules', () => {
    const yaml = `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: gw}
spec:
  servers:
  - port: {number: 443, protocol: HTTPS, name: https}
    hosts: [reviews]
`;
    expect(validate(one(yaml)).errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'spec.servers[0].hosts[0]: invalid host "reviews": short names (non FQDN) are not allowed in gateway server hosts',
      'spec.servers[0].tls: required field is missing',
    ]);
  });

  it('a wildcard host is refused for the mesh gateway but allowed for a named gateway', () => {
    const base = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: all}
spec:
  hosts: ["*"]
  http:
  - route:
    - destination: {host: customer}
`;
    expect(validate(one(base)).errors[0].message).toContain(
      'not allowed for virtual services bound to the mesh gateway',
    );
    expect(validate(one(base.replace('spec:\n', 'spec:\n  gateways: [gw]\n'))).errors).toEqual([]);
  });

  it('retryOn policies are checked', () => {
    const yaml = `${VS_HEAD}  - route:
    - destination: {host: reviews}
    retries: {attempts: 3, retryOn: "5xx,connect-failure,503,sometimes"}
`;
    expect(messages(yaml)).toEqual([
      'vs.yaml:10: VirtualService default/reviews: spec.http[0].retries.retryOn: unknown retryOn policy "sometimes"',
    ]);
  });
});

describe('cross-object warnings', () => {
  it('warns about a subset no DestinationRule defines', () => {
    const r = loadYaml(`${VS_HEAD}  - route:
    - destination: {host: reviews, subset: v3}
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews.default.svc.cluster.local
  subsets:
  - name: v1
    labels: {version: v1}
`);
    const res = validateAll(r.objects);
    expect(res.errors.filter((e) => e.severity === 'error')).toEqual([]);
    expect(res.errors.map(formatConfigError)).toEqual([
      '<input>:9: VirtualService default/reviews: spec.http[0].route[0].destination.subset: warning: subset v3 is not defined in the DestinationRule for reviews.default.svc.cluster.local',
    ]);
  });
});

describe('registered kind validators', () => {
  it('run after the built-in checks', async () => {
    const { registerKindValidator } = await import('./kinds');
    const remove = registerKindValidator('memquota', (obj) => {
      const quotas = (obj.spec as { quotas?: unknown }).quotas;
      return Array.isArray(quotas) ? [] : [{ path: 'spec.quotas', message: 'quotas is required' }];
    });
    const obj = one(`apiVersion: config.istio.io/v1alpha2
kind: memquota
metadata: {name: handler, namespace: istio-system}
spec: {}
`);
    expect(validate(obj).errors).toEqual([{ path: 'spec.quotas', message: 'quotas is required' }]);
    remove();
    expect(validate(obj).errors).toEqual([]);
  });
});

describe('metadata', () => {
  it('refuses a misspelt metadata field instead of silently defaulting the namespace', () => {
    const r = loadYaml(`apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespce: bookinfo
`);
    expect(r.objects[0].metadata.namespace).toBe('default');
    expect(validate(r.objects[0]).errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'metadata.namespce: unknown field "namespce" (did you mean "namespace"?)',
    ]);
  });
});
