// Codec cost of @tsmesh/protocol, side by side with @grpc/proto-loader's own (de)serializers
// on the same DiscoveryResponse: `node tools/bench/run.mjs protocol [clusters]`.
import {
  adsServiceDefinition,
  decode,
  encode,
  fromJson,
  packAny,
  toJson,
  TypeUrl,
  typeNameOf,
  unpackAny,
  type Cluster,
} from '@tsmesh/protocol';

const N = Number(process.argv[2] ?? 200);
const RESPONSE = 'envoy.service.discovery.v3.DiscoveryResponse';

function cluster(i: number): Cluster {
  return fromJson<Cluster>(typeNameOf(TypeUrl.CLUSTER), {
    name: `outbound|9080|v${i % 3}|svc-${i}.default.svc.cluster.local`,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    connect_timeout: '1s',
    circuit_breakers: { thresholds: [{ max_connections: 100, max_requests: 1024 }] },
    outlier_detection: { consecutive_5xx: 5, interval: '10s', base_ejection_time: '30s' },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': TypeUrl.UPSTREAM_TLS_CONTEXT,
        sni: `svc-${i}`,
        common_tls_context: { alpn_protocols: ['istio'] },
      },
    },
    metadata: {
      filter_metadata: { istio: { config: `/apis/networking/v1alpha3/namespaces/default/destination-rule/svc-${i}` } },
    },
  });
}

function measure(fn: () => unknown, minMs = 500): number {
  for (let i = 0; i < 3; i++) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    n++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return n / (elapsed / 1000);
}

const clusters = Array.from({ length: N }, (_, i) => cluster(i));
const ads = adsServiceDefinition()['StreamAggregatedResources'];
const response = {
  version_info: '1',
  type_url: TypeUrl.CLUSTER,
  nonce: 'n',
  resources: clusters.map((c) => packAny(TypeUrl.CLUSTER, c)),
};
const bytes = encode(RESPONSE, response);

const rows: Array<[string, number, number | undefined]> = [];
const encTsmesh = measure(() =>
  encode(RESPONSE, { ...response, resources: clusters.map((c) => packAny(TypeUrl.CLUSTER, c)) }),
);
const encLoader = measure(() =>
  ads.responseSerialize({ ...response, resources: clusters.map((c) => packAny(TypeUrl.CLUSTER, c)) }),
);
rows.push(['pack + serialize response (tsmesh encode vs proto-loader serializer)', encTsmesh, encLoader]);
const decTsmesh = measure(() => decode(RESPONSE, bytes));
const decLoader = measure(() =>
  (ads.responseDeserialize(bytes) as { resources: Parameters<typeof unpackAny>[0][] }).resources.map((r) =>
    unpackAny(r),
  ),
);
rows.push([
  'deserialize response + unpack resources (tsmesh decode vs proto-loader + unpackAny)',
  decTsmesh,
  decLoader,
]);
const json = clusters.map((c) => toJson(typeNameOf(TypeUrl.CLUSTER), c));
rows.push([
  'fromJson of all clusters (validating)',
  measure(() => json.forEach((j) => fromJson(typeNameOf(TypeUrl.CLUSTER), j))),
  undefined,
]);
rows.push([
  'toJson of all clusters',
  measure(() => clusters.forEach((c) => toJson(typeNameOf(TypeUrl.CLUSTER), c))),
  undefined,
]);

console.log(`\n${N} clusters per response, ${(bytes.length / 1024).toFixed(1)} KiB on the wire\n`);
console.log('| operation | tsmesh ops/s | proto-loader ops/s | ratio tsmesh/proto-loader |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, a, b] of rows) {
  console.log(
    `| ${name} | ${a.toFixed(1)} | ${b === undefined ? '-' : b.toFixed(1)} | ${b === undefined ? '-' : (a / b).toFixed(2)} |`,
  );
}
