/**
 * Every generated resource survives the real protobuf encoding unchanged (no
 * unknown or mistyped field silently dropped) and passes Envoy's validate rules.
 */
import { packAny, unpackAny, validateMessage } from '@tsmesh/protocol';
import { BOOKINFO_YAML, REVIEWS_DR, contextFrom, productpage, sidecar } from '../testing/bookinfo';
import { parseNode } from '../model/proxy';
import { generate } from './generator';
import { TYPE, type Msg } from './names';
import { PluginRegistry } from './plugins';
import { registerBuiltinPlugins } from './register';

function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(normalize);
  if (v && typeof v === 'object' && !Buffer.isBuffer(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const n = normalize(x);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  if (v === 0 || v === false || v === '') return undefined;
  return v;
}

const FULL = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}, uri: {regex: '/r/[0-9]+'}, ignoreUriCase: true, queryParams: {q: {prefix: a}}}]
    route: [{destination: {host: reviews, subset: v2}}]
    fault: {delay: {percent: 10, fixedDelay: 2s}, abort: {percentage: {value: 5.5}, httpStatus: 500}}
    retries: {attempts: 3, perTryTimeout: 1s}
    timeout: 3s
    corsPolicy: {allowOrigin: ["*"], allowMethods: [GET], allowCredentials: false, maxAge: 1m}
    headers: {request: {set: {a: b}, remove: [c]}, response: {add: {d: e}}}
    mirror: {host: ratings}
    mirrorPercent: 50
  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new}
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 80}
    - {destination: {host: reviews, subset: v3}, weight: 20}
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: ratings}
spec:
  host: ratings
  trafficPolicy:
    loadBalancer: {consistentHash: {httpCookie: {name: u, ttl: 10s}, minimumRingSize: 64}}
    connectionPool:
      tcp: {maxConnections: 1, connectTimeout: 1s, tcpKeepalive: {time: 10s, interval: 5s, probes: 3}}
      http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1, idleTimeout: 30s}
    outlierDetection: {consecutiveErrors: 2, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 50, minHealthPercent: 10}
    tls: {mode: ISTIO_MUTUAL}
---
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}, {number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: db}
spec:
  hosts: [db.example.com]
  ports: [{number: 27017, name: tcp, protocol: TCP}]
  resolution: NONE
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: ext-tls}
spec:
  hosts: [api.example.com]
  tls:
  - match: [{port: 443, sniHosts: [api.example.com], destinationSubnets: [203.0.113.0/24, 198.51.100.7]}]
    route:
    - {destination: {host: api.example.com, port: {number: 443}}, weight: 70}
    - {destination: {host: db.example.com, port: {number: 27017}}, weight: 30}
  - match: [{port: 443, sniHosts: [api.example.com]}]
    route: [{destination: {host: api.example.com, port: {number: 443}}}]
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: db}
spec:
  hosts: [db.example.com]
  tcp:
  - match: [{destinationSubnets: [10.20.0.0/16]}]
    route: [{destination: {host: db.example.com}}]
---
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: bookinfo-gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [bookinfo.example.com]
    tls: {mode: SIMPLE, serverCertificate: /etc/certs/tls.crt, privateKey: /etc/certs/tls.key}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: bookinfo}
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match: [{uri: {exact: /productpage}}]
    route: [{destination: {host: productpage, port: {number: 9080}}}]
`;

describe('generated resources on the wire', () => {
  const ctx = contextFrom([BOOKINFO_YAML, REVIEWS_DR, FULL]);
  const gateway = parseNode({
    id: 'router~10.1.0.200~ingress.istio-system~istio-system.svc.cluster.local',
    metadata: { LABELS: { istio: 'ingressgateway' } },
  });
  const proxies = [
    productpage(),
    sidecar('10.1.0.21', 'reviews-v1-abc', { app: 'reviews', version: 'v1' }, 'default', { HTTP_PROXY_PORT: '15080' }),
    gateway,
  ];
  for (const proxy of proxies)
    for (const t of [TYPE.cluster, TYPE.endpoint, TYPE.listener, TYPE.route])
      it(`${proxy.type} ${t.split('.').pop()} round-trips and validates`, () => {
        const resources = generate(t, proxy, ctx, []) ?? [];
        expect(resources.length).toBeGreaterThan(0);
        for (const r of resources) {
          const back = unpackAny(packAny(t, r));
          expect(normalize({ ...back, '@type': undefined })).toEqual(normalize(r as Msg));
          expect(validateMessage(t, r)).toEqual([]);
        }
        if (t === TYPE.listener && proxy.type === 'sidecar') {
          const tls = resources.find((r) => r['name'] === '0.0.0.0_443') as Msg;
          expect((tls['filter_chains'] as Msg[]).map((c) => c['filter_chain_match'])).toEqual([
            {
              prefix_ranges: [
                { address_prefix: '198.51.100.7', prefix_len: { value: 32 } },
                { address_prefix: '203.0.113.0', prefix_len: { value: 24 } },
              ],
              server_names: ['api.example.com'],
            },
            { server_names: ['api.example.com'] },
          ]);
          expect(tls['listener_filters']).toHaveLength(1);
        }
      });
});

describe('generated resources with the security and Mixer plugins registered', () => {
  const policy = `apiVersion: authentication.istio.io/v1alpha1
kind: Policy
metadata: {name: default, namespace: default}
spec:
  peers: [{mtls: {mode: PERMISSIVE}}]
`;
  const ctx = contextFrom([BOOKINFO_YAML, REVIEWS_DR, policy], {
    mixerCheckServer: 'istio-policy.istio-system.svc.cluster.local:9091',
    mixerReportServer: 'istio-telemetry.istio-system.svc.cluster.local:9091',
    disablePolicyChecks: false,
  });
  const plugins = new PluginRegistry();
  registerBuiltinPlugins(plugins);
  for (const t of [TYPE.cluster, TYPE.listener])
    it(`sidecar ${t.split('.').pop()} round-trips and validates`, () => {
      const resources = generate(t, productpage(), ctx, [], plugins) ?? [];
      for (const r of resources) {
        const back = unpackAny(packAny(t, r));
        expect(normalize({ ...back, '@type': undefined })).toEqual(normalize(r as Msg));
        expect(validateMessage(t, r)).toEqual([]);
      }
      if (t === TYPE.cluster)
        expect(resources.map((r) => r['name'])).toContain('outbound|9091||istio-policy.istio-system.svc.cluster.local');
      if (t === TYPE.listener) {
        const inbound = resources.find((r) => r['name'] === '10.1.0.10_9080') as Msg;
        const filters = (((inbound['filter_chains'] as Msg[])[0]['filters'] as Msg[])[0]['typed_config'] as Msg)[
          'http_filters'
        ] as Msg[];
        const names = filters.map((f) => f['name']);
        expect(names[names.length - 1]).toBe('envoy.filters.http.router');
        expect(names).toContain('mixer');
        expect(names.indexOf('mixer')).toBeLessThan(names.indexOf('envoy.filters.http.fault'));
      }
    });
});
