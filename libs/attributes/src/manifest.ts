/**
 * Attribute value types (istio.policy.v1beta1.ValueType) and Istio 1.0's
 * default attribute vocabulary: the `istioproxy` and `kubernetes`
 * attributemanifests shipped with the mixer chart.
 */
export const VALUE_TYPES = [
  'STRING',
  'INT64',
  'DOUBLE',
  'BOOL',
  'TIMESTAMP',
  'IP_ADDRESS',
  'EMAIL_ADDRESS',
  'URI',
  'DNS_NAME',
  'DURATION',
  'STRING_MAP',
] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

export function isValueType(s: string): s is ValueType {
  return (VALUE_TYPES as readonly string[]).includes(s);
}

/** Name → type. */
export type Manifest = ReadonlyMap<string, ValueType>;

const S = 'STRING';
const I = 'INT64';
const B = 'BOOL';
const T = 'TIMESTAMP';
const IP = 'IP_ADDRESS';
const D = 'DURATION';
const M = 'STRING_MAP';

/** `attributemanifest istioproxy` (1.0) plus the attributes the proxy adds itself. */
const ISTIOPROXY: Record<string, ValueType> = {
  'origin.ip': IP,
  'origin.uid': S,
  'origin.user': S,
  'request.headers': M,
  'request.id': S,
  'request.host': S,
  'request.method': S,
  'request.path': S,
  'request.reason': S,
  'request.referer': S,
  'request.scheme': S,
  'request.total_size': I,
  'request.size': I,
  'request.time': T,
  'request.useragent': S,
  'response.code': I,
  'response.duration': D,
  'response.headers': M,
  'response.total_size': I,
  'response.size': I,
  'response.time': T,
  'response.grpc_status': S,
  'response.grpc_message': S,
  'source.uid': S,
  'source.user': S,
  'source.principal': S,
  'destination.uid': S,
  'destination.principal': S,
  'destination.port': I,
  'connection.event': S,
  'connection.id': S,
  'connection.received.bytes': I,
  'connection.received.bytes_total': I,
  'connection.sent.bytes': I,
  'connection.sent.bytes_total': I,
  'connection.duration': D,
  'connection.mtls': B,
  'connection.requested_server_name': S,
  'context.protocol': S,
  'context.proxy_error_code': S,
  'context.timestamp': T,
  'context.time': T,
  'context.reporter.local': B,
  'context.reporter.kind': S,
  'context.reporter.uid': S,
  'api.service': S,
  'api.version': S,
  'api.operation': S,
  'api.protocol': S,
  'request.auth.principal': S,
  'request.auth.audiences': S,
  'request.auth.presenter': S,
  'request.auth.claims': M,
  'request.auth.raw_claims': S,
  'request.api_key': S,
  'check.error_code': I,
  'check.error_message': S,
  'check.cache_hit': B,
  'quota.cache_hit': B,
};

/** `attributemanifest kubernetes` (1.0): what the kubernetesenv adapter derives. */
const KUBERNETES: Record<string, ValueType> = {
  'source.ip': IP,
  'source.labels': M,
  'source.metadata': M,
  'source.name': S,
  'source.namespace': S,
  'source.owner': S,
  'source.service': S,
  'source.serviceAccount': S,
  'source.services': S,
  'source.workload.uid': S,
  'source.workload.name': S,
  'source.workload.namespace': S,
  'destination.ip': IP,
  'destination.labels': M,
  'destination.metadata': M,
  'destination.owner': S,
  'destination.name': S,
  'destination.container.name': S,
  'destination.namespace': S,
  'destination.service': S,
  'destination.service.uid': S,
  'destination.service.name': S,
  'destination.service.namespace': S,
  'destination.service.host': S,
  'destination.serviceAccount': S,
  'destination.workload.uid': S,
  'destination.workload.name': S,
  'destination.workload.namespace': S,
};

/** The default 1.0 vocabulary (istioproxy + kubernetes manifests). */
export const ISTIO_MANIFEST: Manifest = new Map(Object.entries({ ...ISTIOPROXY, ...KUBERNETES }));

/** Merges extra attributemanifests (e.g. from config) over a base vocabulary. */
export function extendManifest(base: Manifest, extra: Readonly<Record<string, ValueType>>): Manifest {
  const out = new Map(base);
  for (const [k, v] of Object.entries(extra)) out.set(k, v);
  return out;
}
