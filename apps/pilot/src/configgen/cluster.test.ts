import { packAny, validateMessage } from '@tsmesh/protocol';
import { BOOKINFO_YAML, REVIEWS_DR, contextFrom, productpage, sidecar } from '../testing/bookinfo';
import { simulate } from '../testing/simulate';
import { generateClusters, generateEndpoints, generateListeners } from './generator';
import { httpProxyRouteConfig } from './virtual-host';
import { TYPE, type Msg } from './names';

const byName = (list: Msg[], name: string) => list.find((c) => c['name'] === name) as Msg;

describe('CDS / EDS / LDS for a sidecar', () => {
  const dr = `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: LEAST_CONN}
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 30ms}
      http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1, http2MaxRequests: 10, maxRetries: 2}
    outlierDetection: {consecutiveErrors: 1, interval: 1s, baseEjectionTime: 3m, maxEjectionPercent: 100}
    tls: {mode: ISTIO_MUTUAL}
  subsets:
  - {name: v1, labels: {version: v1}}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {loadBalancer: {simple: RANDOM}}
`;

  it('names outbound clusters per port and subset, Istio style', () => {
    const ctx = contextFrom([BOOKINFO_YAML, REVIEWS_DR]);
    const names = generateClusters(productpage(), ctx, []).map((c) => c['name']);
    expect(names).toEqual(
      expect.arrayContaining([
        'outbound|9080||reviews.default.svc.cluster.local',
        'outbound|9080|v1|reviews.default.svc.cluster.local',
        'outbound|9080|v2|reviews.default.svc.cluster.local',
        'outbound|9080|v3|reviews.default.svc.cluster.local',
        'outbound|9080||ratings.default.svc.cluster.local',
        'inbound|9080||productpage.default.svc.cluster.local',
        'BlackHoleCluster',
        'PassthroughCluster',
      ]),
    );
    const reviews = byName(
      generateClusters(productpage(), ctx, []),
      'outbound|9080||reviews.default.svc.cluster.local',
    );
    expect(reviews['type']).toBe('EDS');
    expect(reviews['eds_cluster_config']).toEqual({
      eds_config: { ads: {}, resource_api_version: 'V3' },
      service_name: reviews['name'],
    });
    const inbound = byName(
      generateClusters(productpage(), ctx, []),
      'inbound|9080||productpage.default.svc.cluster.local',
    );
    expect(inbound['load_assignment']).toEqual({
      cluster_name: 'inbound|9080||productpage.default.svc.cluster.local',
      endpoints: [
        { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9080 } } } }] },
      ],
    });
  });

  it('applies DestinationRule policies, subset overrides and ISTIO_MUTUAL SANs', () => {
    const ctx = contextFrom([BOOKINFO_YAML, dr]);
    const clusters = generateClusters(productpage(), ctx, []);
    const base = byName(clusters, 'outbound|9080||reviews.default.svc.cluster.local');
    expect(base['lb_policy']).toBe('LEAST_REQUEST');
    expect(base['connect_timeout']).toEqual({ seconds: 0, nanos: 30_000_000 });
    expect(base['circuit_breakers']).toEqual({
      thresholds: [
        {
          max_connections: { value: 100 },
          max_pending_requests: { value: 1 },
          max_requests: { value: 10 },
          max_retries: { value: 2 },
        },
      ],
    });
    expect(base['max_requests_per_connection']).toEqual({ value: 1 });
    expect(base['outlier_detection']).toEqual({
      consecutive_gateway_failure: { value: 1 },
      enforcing_consecutive_gateway_failure: { value: 100 },
      enforcing_consecutive_5xx: { value: 0 },
      interval: { seconds: 1, nanos: 0 },
      base_ejection_time: { seconds: 180, nanos: 0 },
      max_ejection_percent: { value: 100 },
    });
    const tls = (base['transport_socket'] as Msg)['typed_config'] as Msg;
    expect(tls['sni']).toBe('outbound|9080||reviews.default.svc.cluster.local');
    const common = tls['common_tls_context'] as Msg;
    expect(common['alpn_protocols']).toEqual(['istio']);
    expect((common['validation_context'] as Msg)['match_subject_alt_names']).toEqual([
      { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews' },
    ]);
    expect(byName(clusters, 'outbound|9080|v2|reviews.default.svc.cluster.local')['lb_policy']).toBe('RANDOM');
    expect(byName(clusters, 'outbound|9080|v1|reviews.default.svc.cluster.local')['lb_policy']).toBe('LEAST_REQUEST');
  });

  it('EDS filters endpoints by subset labels, with locality weights', () => {
    const ctx = contextFrom([BOOKINFO_YAML, REVIEWS_DR]);
    const [v2] = generateEndpoints(productpage(), ctx, ['outbound|9080|v2|reviews.default.svc.cluster.local']);
    const eps = v2['endpoints'] as Msg[];
    expect(eps).toHaveLength(1);
    expect(eps[0]['load_balancing_weight']).toEqual({ value: 1 });
    expect(eps[0]['locality']).toEqual({ region: '', zone: '', sub_zone: '' });
    expect((eps[0]['lb_endpoints'] as Msg[]).map((e) => (e['endpoint'] as Msg)['address'])).toEqual([
      { socket_address: { address: '10.1.0.22', port_value: 9080 } },
    ]);
    const [all] = generateEndpoints(productpage(), ctx, ['outbound|9080||reviews.default.svc.cluster.local']);
    expect(((all['endpoints'] as Msg[])[0]['lb_endpoints'] as Msg[]).length).toBe(3);
  });

  it('ServiceEntry hosts become STRICT_DNS or EDS clusters', () => {
    const se = `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  location: MESH_EXTERNAL
  resolution: DNS
---
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: db}
spec:
  hosts: [db.internal]
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{address: 10.2.0.1}, {address: 10.2.0.2}]
`;
    const ctx = contextFrom([BOOKINFO_YAML, se]);
    const clusters = generateClusters(productpage(), ctx, []);
    const ext = byName(clusters, 'outbound|443||api.example.com');
    expect(ext['type']).toBe('STRICT_DNS');
    expect(byName(clusters, 'outbound|5432||db.internal')['type']).toBe('EDS');
    const [db] = generateEndpoints(productpage(), ctx, ['outbound|5432||db.internal']);
    expect(((db['endpoints'] as Msg[])[0]['lb_endpoints'] as Msg[]).length).toBe(2);
    const listeners = generateListeners(productpage(), ctx, []).map((l) => l['name']);
    expect(listeners).toContain('0.0.0.0_5432');
  });

  it('builds Istio-named listeners with the router as the last HTTP filter', () => {
    const ctx = contextFrom([BOOKINFO_YAML]);
    const listeners = generateListeners(productpage(), ctx, []);
    expect(listeners.map((l) => l['name'])).toEqual(['0.0.0.0_9080', '10.1.0.10_9080', 'virtual']);
    const out = byName(listeners, '0.0.0.0_9080');
    const hcm = ((out['filter_chains'] as Msg[])[0]['filters'] as Msg[])[0]['typed_config'] as Msg;
    expect((hcm['rds'] as Msg)['route_config_name']).toBe('9080');
    const filters = (hcm['http_filters'] as Msg[]).map((f) => f['name']);
    expect(filters[filters.length - 1]).toBe('envoy.filters.http.router');
    expect(filters).toEqual(['envoy.filters.http.cors', 'envoy.filters.http.fault', 'envoy.filters.http.router']);
    const inbound = byName(listeners, '10.1.0.10_9080');
    const ihcm = ((inbound['filter_chains'] as Msg[])[0]['filters'] as Msg[])[0]['typed_config'] as Msg;
    const rc = ihcm['route_config'] as Msg;
    expect(rc['name']).toBe('inbound|http|9080');
    expect(((rc['virtual_hosts'] as Msg[])[0]['routes'] as Msg[])[0]['route']).toEqual({
      cluster: 'inbound|9080||productpage.default.svc.cluster.local',
      timeout: { seconds: 0, nanos: 0 },
    });
  });

  it('adds the explicit HTTP proxy listener when the node asks for one', () => {
    const ctx = contextFrom([BOOKINFO_YAML]);
    const p = sidecar('10.1.0.10', 'productpage-v1-abc', { app: 'productpage' }, 'default', {
      HTTP_PROXY_PORT: '15080',
    });
    const names = generateListeners(p, ctx, []).map((l) => l['name']);
    expect(names).toContain('127.0.0.1_15080');
  });

  it('serves the explicit HTTP proxy on the capture listener when the node asks for port 15001', () => {
    const ctx = contextFrom([BOOKINFO_YAML]);
    const p = sidecar('10.1.0.10', 'productpage-v1-abc', { app: 'productpage' }, 'default', {
      HTTP_PROXY_PORT: '15001',
    });
    const listeners = generateListeners(p, ctx, []);
    expect(listeners.map((l) => l['name'])).not.toContain('127.0.0.1_15001');
    const virtual = byName(listeners, 'virtual');
    const [proxyChain, passthrough] = virtual['filter_chains'] as Msg[];
    expect(proxyChain['filter_chain_match']).toEqual({ destination_port: { value: 15001 } });
    const typed = (proxyChain['filters'] as Msg[])[0]['typed_config'] as Msg;
    expect((typed['rds'] as Msg)['route_config_name']).toBe('http_proxy');
    expect(typed['http_protocol_options']).toEqual({ allow_absolute_url: { value: true } });
    expect((passthrough['filters'] as Msg[])[0]['name']).toBe('envoy.filters.network.tcp_proxy');
    // The app's calls through it are outbound: the sidecar traces them as CLIENT spans.
    expect(virtual['traffic_direction']).toBe('OUTBOUND');
    expect(validateMessage(TYPE.listener, virtual)).toEqual([]);
    expect(() => packAny(TYPE.listener, virtual)).not.toThrow();
    // Without the metadata the capture listener stays a plain passthrough.
    const plain = byName(generateListeners(productpage(), ctx, []), 'virtual');
    expect(plain['filter_chains']).toHaveLength(1);
    expect(plain['traffic_direction']).toBe('OUTBOUND');
  });

  it('lets apps tunnel with CONNECT through the explicit proxy to TLS/TCP services (and the outbound policy)', () => {
    const external = `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  location: MESH_EXTERNAL
  resolution: DNS
`;
    const p = sidecar('10.1.0.10', 'productpage-v1-abc', { app: 'productpage' }, 'default', {
      HTTP_PROXY_PORT: '15001',
    });
    const hcmOf = (ctx: ReturnType<typeof contextFrom>) =>
      ((byName(generateListeners(p, ctx, []), 'virtual')['filter_chains'] as Msg[])[0]['filters'] as Msg[])[0][
        'typed_config'
      ] as Msg;
    const blocked = contextFrom([BOOKINFO_YAML, external], { outboundTrafficPolicy: 'REGISTRY_ONLY' });
    expect(hcmOf(blocked)['upgrade_configs']).toEqual([{ upgrade_type: 'CONNECT' }]);
    const rc = httpProxyRouteConfig(p, blocked);
    expect(validateMessage(TYPE.route, rc)).toEqual([]);
    expect(simulate(rc, { authority: 'api.example.com:443', method: 'CONNECT' })?.cluster).toBe(
      'outbound|443||api.example.com',
    );
    expect(simulate(rc, { authority: 'elsewhere.example.org:443', method: 'CONNECT' })?.cluster).toBe(
      'BlackHoleCluster',
    );
    // Plain requests keep their routes; CONNECT never takes an HTTP route.
    expect(simulate(rc, { authority: 'reviews:9080', path: '/reviews/1' })?.cluster).toMatch(/^outbound\|9080\|/);
    // (the host's virtual host is chosen first and has no CONNECT route: Envoy's 404 NR)
    expect(simulate(rc, { authority: 'reviews:9080', method: 'CONNECT' })).toBeUndefined();
    const open = httpProxyRouteConfig(p, contextFrom([BOOKINFO_YAML, external]));
    expect(simulate(open, { authority: 'elsewhere.example.org:443', method: 'CONNECT' })?.cluster).toBe(
      'PassthroughCluster',
    );
  });
});

describe('VirtualService tcp routes on sidecar TCP listeners', () => {
  it('shifts TCP traffic by weight between subsets', () => {
    const ctx = contextFrom([
      `apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec: {clusterIP: 10.96.3.3, ports: [{name: tcp, port: 5432}]}
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: db}
spec: {host: db, subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: db}
spec:
  hosts: [db]
  tcp:
  - match: [{port: 5432}]
    route:
    - {destination: {host: db, subset: v1}, weight: 80}
    - {destination: {host: db, subset: v2}, weight: 20}
`,
    ]);
    const l = generateListeners(productpage(), ctx, []).find((x) => x['name'] === '10.96.3.3_5432') as Msg;
    const tcp = ((l['filter_chains'] as Msg[])[0]['filters'] as Msg[])[0]['typed_config'] as Msg;
    expect(tcp['weighted_clusters']).toEqual({
      clusters: [
        { name: 'outbound|5432|v1|db.default.svc.cluster.local', weight: 80 },
        { name: 'outbound|5432|v2|db.default.svc.cluster.local', weight: 20 },
      ],
    });
    expect(validateMessage(TYPE.listener, l)).toEqual([]);
    expect(() => packAny(TYPE.listener, l)).not.toThrow();
  });
});
