import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import {
  decode,
  fromJson,
  validateMessage,
  encode,
  fromYaml,
  toJson,
  TypeUrl,
  typeNameOf,
  type Cluster,
  type HTTPFault,
  type HttpConnectionManager,
  type Listener,
  type RouteConfiguration,
} from './index';

const fixture = (name: string) => readFileSync(path.join(__dirname, '__fixtures__', name), 'utf8');

// Envoy YAML as written in Envoy's docs, in canonical form (snake_case keys, durations with
// the fewest digits, int64 as strings), so the round trip must reproduce it exactly.
const cases: Array<[string, string, string]> = [
  ['Listener with HCM using RDS', typeNameOf(TypeUrl.LISTENER), 'listener-hcm-rds.yaml'],
  ['RouteConfiguration with weighted clusters and retries', typeNameOf(TypeUrl.ROUTE), 'route-weighted-retries.yaml'],
  ['EDS Cluster with circuit breakers and outlier detection', typeNameOf(TypeUrl.CLUSTER), 'cluster-eds.yaml'],
  ['ClusterLoadAssignment', typeNameOf(TypeUrl.ENDPOINT), 'cla.yaml'],
  ['Bootstrap with ADS', typeNameOf(TypeUrl.BOOTSTRAP), 'bootstrap.yaml'],
];

describe('round trip: fromYaml -> encode -> decode -> toJson', () => {
  it.each(cases)('%s', (_title, typeName, file) => {
    const text = fixture(file);
    const obj = fromYaml(typeName, text);
    const bytes = encode(typeName, obj);
    const back = decode(typeName, bytes);
    expect(back).toEqual(obj);
    expect(toJson(typeName, back)).toEqual(parse(text));
    // the object form is itself valid input
    expect(validateMessage(typeName, back)).toEqual([]);
    expect(fromJson(typeName, back)).toEqual(back);
  });
});

describe('object form', () => {
  it('expands Any in place, keeps durations, wrappers and enums in protobufjs form', () => {
    const listener = decode<Listener>(
      typeNameOf(TypeUrl.LISTENER),
      encode(typeNameOf(TypeUrl.LISTENER), fromYaml(typeNameOf(TypeUrl.LISTENER), fixture('listener-hcm-rds.yaml'))),
    );
    const typed = listener.filter_chains[0].filters[0].typed_config;
    expect(typed?.['@type']).toBe(TypeUrl.HTTP_CONNECTION_MANAGER);
    const hcm = typed as unknown as HttpConnectionManager;
    expect(hcm.rds?.route_config_name).toBe('local_route');
    expect(hcm.codec_type).toBe('AUTO');
    expect(hcm.common_http_protocol_options?.idle_timeout).toEqual({ seconds: 300 });
    expect(hcm.use_remote_address).toEqual({ value: true });
    expect(hcm.http_filters.map((f) => f.name)).toEqual(['envoy.filters.http.fault', 'envoy.filters.http.router']);
    const fault = hcm.http_filters[0].typed_config as unknown as HTTPFault;
    expect(fault.delay?.fixed_delay).toEqual({ nanos: 500000000 });
    // arrays: true — repeated fields are always present
    expect(listener.listener_filters[0].typed_config).toEqual({ '@type': TypeUrl.TLS_INSPECTOR });
    expect(hcm.upgrade_configs).toEqual([]);
  });

  it('gives Struct as plain JSON and int64 as numbers', () => {
    const cluster = fromYaml<Cluster>(typeNameOf(TypeUrl.CLUSTER), fixture('cluster-eds.yaml'));
    expect(cluster.metadata?.filter_metadata?.['istio']).toEqual({
      config: '/apis/networking.istio.io/v1alpha3/namespaces/default/destination-rule/reviews',
      subset: 'v1',
      weight: 1.5,
      canary: false,
      tags: ['a', 'b'],
    });
    const decoded = decode<Cluster>(typeNameOf(TypeUrl.CLUSTER), encode(typeNameOf(TypeUrl.CLUSTER), cluster));
    expect(decoded.metadata).toEqual(cluster.metadata);
    const route = fromYaml<RouteConfiguration>(typeNameOf(TypeUrl.ROUTE), fixture('route-weighted-retries.yaml'));
    expect(route.virtual_hosts[0].routes[1].route?.retry_policy?.host_selection_retry_max_attempts).toBe(3);
  });

  it('accepts camelCase keys and non-canonical values, and normalizes them', () => {
    const obj = fromYaml(
      typeNameOf(TypeUrl.CLUSTER),
      [
        'name: c',
        'connectTimeout: 0.250s',
        'lbPolicy: 2',
        'circuitBreakers:',
        '  thresholds:',
        '  - maxRequests: "7"',
      ].join('\n'),
    );
    expect(toJson(typeNameOf(TypeUrl.CLUSTER), obj)).toEqual({
      name: 'c',
      connect_timeout: '0.25s',
      lb_policy: 'RING_HASH',
      circuit_breakers: { thresholds: [{ max_requests: 7 }] },
    });
    expect(toJson(typeNameOf(TypeUrl.CLUSTER), obj, { camelCase: true })).toEqual({
      name: 'c',
      connectTimeout: '0.25s',
      lbPolicy: 'RING_HASH',
      circuitBreakers: { thresholds: [{ maxRequests: 7 }] },
    });
  });
});
