import {
  any,
  bool,
  dur,
  enm,
  enmUpper,
  int,
  list,
  map,
  num,
  obj,
  str,
  strList,
  strMap,
  type FieldSpec,
} from '../schema';

/**
 * Field specs for `networking.istio.io` (v1alpha3, v1beta1, v1): the union of
 * the documented fields of every version, including the 1.0 forms that
 * normalization rewrites. Source: istio/api `networking/v1alpha3/*.proto` at
 * tags 1.0.0 … HEAD.
 */

const PROTOCOLS = [
  'HTTP',
  'HTTPS',
  'GRPC',
  'GRPC-WEB',
  'HTTP2',
  'MONGO',
  'TCP',
  'TLS',
  'UDP',
  'REDIS',
  'MYSQL',
  'THRIFT',
  // Sidecar egress listeners of Istio 1.1–1.5 (an HTTP proxy port).
  'HTTP_PROXY',
];

export const stringMatch = obj({ exact: str(), prefix: str(), regex: str() }, { oneOf: ['exact', 'prefix', 'regex'] });
const percent = obj({ value: num(0, 100) });
export const portSelector = obj({ number: int(1, 65535), name: str() }, { oneOf: ['number', 'name'] });
export const destination = obj({ host: str(), subset: str(), port: portSelector }, { required: ['host'] });
const headerOps = obj({ set: strMap(), add: strMap(), remove: strList() });
const headers = obj({ request: headerOps, response: headerOps });
const legacyHeaderFields: Record<string, FieldSpec> = {
  appendHeaders: strMap(),
  appendRequestHeaders: strMap(),
  appendResponseHeaders: strMap(),
  removeRequestHeaders: strList(),
  removeResponseHeaders: strList(),
};

const httpMatch = obj({
  name: str(),
  uri: stringMatch,
  scheme: stringMatch,
  method: stringMatch,
  authority: stringMatch,
  headers: map(stringMatch),
  port: int(1, 65535),
  sourceLabels: strMap(),
  gateways: strList(),
  queryParams: map(stringMatch),
  ignoreUriCase: bool(),
  withoutHeaders: map(stringMatch),
  sourceNamespace: str(),
  statPrefix: str(),
});

const httpRouteDestination = obj(
  { destination, weight: int(0, 100), headers, ...legacyHeaderFields },
  { required: ['destination'] },
);
const routeDestination = obj({ destination, weight: int(0, 100) }, { required: ['destination'] });

const fault = obj({
  delay: obj({
    fixedDelay: dur(1),
    exponentialDelay: dur(1),
    percent: int(0, 100),
    percentage: percent,
  }),
  abort: obj({
    httpStatus: int(200, 599),
    grpcStatus: str(),
    http2Error: str(),
    percent: int(0, 100),
    percentage: percent,
  }),
});

const corsPolicy = obj({
  allowOrigin: strList(),
  allowOrigins: list(stringMatch),
  allowMethods: strList(),
  allowHeaders: strList(),
  exposeHeaders: strList(),
  maxAge: dur(),
  allowCredentials: bool(),
  unmatchedPreflights: enm('UNSPECIFIED', 'FORWARD', 'IGNORE'),
});

export const httpRoute = obj({
  name: str(),
  match: list(httpMatch),
  route: list(httpRouteDestination),
  redirect: obj({
    uri: str(),
    authority: str(),
    port: int(1, 65535),
    derivePort: enm('FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT'),
    scheme: str(),
    redirectCode: int(300, 399),
    prefixRewrite: str(),
  }),
  directResponse: obj(
    { status: int(200, 599), body: obj({ string: str(), bytes: str() }, { oneOf: ['string', 'bytes'] }) },
    { required: ['status'] },
  ),
  delegate: obj({ name: str(), namespace: str() }, { required: ['name'] }),
  rewrite: obj({ uri: str(), authority: str(), uriRegexRewrite: obj({ match: str(), rewrite: str() }) }),
  timeout: dur(1),
  retries: obj({
    attempts: int(0),
    perTryTimeout: dur(1),
    retryOn: str(),
    retryRemoteLocalities: bool(),
    retryIgnorePreviousHosts: bool(),
    backoff: dur(1),
  }),
  fault,
  mirror: destination,
  mirrorPercent: int(0, 100),
  mirrorPercentage: percent,
  mirrors: list(obj({ destination, percentage: percent }, { required: ['destination'] })),
  corsPolicy,
  headers,
  ...legacyHeaderFields,
  websocketUpgrade: bool(),
});

const tlsRoute = obj(
  {
    match: list(
      obj(
        {
          sniHosts: strList(),
          destinationSubnets: strList(),
          port: int(1, 65535),
          sourceLabels: strMap(),
          gateways: strList(),
          sourceNamespace: str(),
          sourceSubnet: str(),
        },
        { required: ['sniHosts'] },
      ),
    ),
    route: list(routeDestination),
  },
  { required: ['match'] },
);

const tcpRoute = obj({
  match: list(
    obj({
      destinationSubnets: strList(),
      port: int(1, 65535),
      sourceSubnet: str(),
      sourceLabels: strMap(),
      gateways: strList(),
      sourceNamespace: str(),
    }),
  ),
  route: list(routeDestination),
});

export const virtualServiceSpec = obj({
  hosts: strList(),
  gateways: strList(),
  http: list(httpRoute),
  tls: list(tlsRoute),
  tcp: list(tcpRoute),
  exportTo: strList(),
});

const loadBalancer = obj(
  {
    simple: enm('UNSPECIFIED', 'ROUND_ROBIN', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'LEAST_REQUEST'),
    consistentHash: obj(
      {
        httpHeaderName: str(),
        httpCookie: obj(
          { name: str(), path: str(), ttl: dur(), attributes: list(obj({ name: str(), value: str() })) },
          { required: ['name'] },
        ),
        useSourceIp: bool(),
        httpQueryParameterName: str(),
        ringHash: obj({ minimumRingSize: int(0) }),
        maglev: obj({ tableSize: int(0) }),
        minimumRingSize: int(0),
      },
      { oneOf: ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'] },
    ),
    localityLbSetting: obj({
      distribute: list(obj({ from: str(), to: map(int(0, 100)) })),
      failover: list(obj({ from: str(), to: str() })),
      failoverPriority: strList(),
      enabled: bool(),
    }),
    zoneAwareLbSetting: obj({
      enabled: bool(),
      failover: list(obj({ from: str(), to: str() })),
      failoverPriority: strList(),
      minClusterSize: int(0),
    }),
    warmupDurationSecs: dur(),
    warmup: obj({ duration: dur(), minimumPercent: num(0, 100), aggression: num(1) }, { required: ['duration'] }),
  },
  { oneOf: ['simple', 'consistentHash'] },
);

export const connectionPool = obj({
  tcp: obj({
    maxConnections: int(0),
    connectTimeout: dur(1),
    tcpKeepalive: obj({ probes: int(0), time: dur(), interval: dur() }),
    maxConnectionDuration: dur(1),
    idleTimeout: dur(),
  }),
  http: obj({
    http1MaxPendingRequests: int(0),
    http2MaxRequests: int(0),
    maxRequestsPerConnection: int(0),
    maxRetries: int(0),
    idleTimeout: dur(1),
    h2UpgradePolicy: enm('DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'),
    useClientProtocol: bool(),
    maxConcurrentStreams: int(0),
    http2KeepAlive: obj({ interval: dur(), timeout: dur() }),
  }),
});

const outlierDetection = obj({
  consecutiveErrors: int(0),
  consecutive5xxErrors: int(0),
  consecutiveGatewayErrors: int(0),
  consecutiveLocalOriginFailures: int(0),
  splitExternalLocalOriginErrors: bool(),
  interval: dur(1),
  baseEjectionTime: dur(1),
  maxEjectionPercent: int(0, 100),
  minHealthPercent: int(0, 100),
  outlierDetectionHttpErrorCodes: list(int(100, 599)),
});

const clientTls = obj({
  mode: enm('DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'),
  clientCertificate: str(),
  privateKey: str(),
  caCertificates: str(),
  credentialName: str(),
  subjectAltNames: strList(),
  sni: str(),
  insecureSkipVerify: bool(),
  caCrl: str(),
});

const trafficPolicyFields: Record<string, FieldSpec> = {
  loadBalancer,
  connectionPool,
  outlierDetection,
  tls: clientTls,
};

export const trafficPolicy = obj({
  ...trafficPolicyFields,
  portLevelSettings: list(obj({ port: portSelector, ...trafficPolicyFields })),
  tunnel: obj({ protocol: str(), targetHost: str(), targetPort: int(1, 65535) }, { required: ['targetHost'] }),
  proxyProtocol: obj({ version: enm('V1', 'V2') }),
  retryBudget: obj({ percent: num(0, 100), minRetryConcurrency: int(0), budgetInterval: dur() }),
});

export const destinationRuleSpec = obj(
  {
    host: str(),
    trafficPolicy,
    subsets: list(obj({ name: str(), labels: strMap(), trafficPolicy }, { required: ['name'] })),
    exportTo: strList(),
    workloadSelector: obj({ matchLabels: strMap() }),
  },
  { required: ['host'] },
);

export const port = obj(
  { number: int(0, 65535), protocol: enmUpper(...PROTOCOLS), name: str(), targetPort: int(0, 65535) },
  { required: ['number'] },
);

const serverTls = obj({
  httpsRedirect: bool(),
  mode: enm('PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL'),
  serverCertificate: str(),
  privateKey: str(),
  caCertificates: str(),
  credentialName: str(),
  credentialNames: strList(),
  caCertCredentialName: str(),
  tlsCertificates: list(obj({ serverCertificate: str(), privateKey: str(), caCertificates: str() })),
  insecureSkipVerify: bool(),
  subjectAltNames: strList(),
  verifyCertificateSpki: strList(),
  verifyCertificateHash: strList(),
  minProtocolVersion: enm('TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'),
  maxProtocolVersion: enm('TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'),
  cipherSuites: strList(),
  caCrl: str(),
});

export const gatewaySpec = obj(
  {
    selector: strMap(),
    servers: list(
      obj(
        { port, bind: str(), hosts: strList(), tls: serverTls, defaultEndpoint: str(), name: str() },
        { required: ['port', 'hosts'] },
      ),
    ),
  },
  { required: ['servers'] },
);

export const workloadEntrySpec = obj({
  address: str(),
  ports: map(int(0, 65535)),
  labels: strMap(),
  network: str(),
  locality: str(),
  weight: int(0),
  serviceAccount: str(),
});

export const serviceEntrySpec = obj(
  {
    hosts: strList(),
    addresses: strList(),
    ports: list(port),
    location: enm('MESH_EXTERNAL', 'MESH_INTERNAL'),
    resolution: enm('NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN'),
    endpoints: list(workloadEntrySpec),
    workloadSelector: obj({ labels: strMap() }),
    exportTo: strList(),
    subjectAltNames: strList(),
  },
  { required: ['hosts'] },
);

const captureMode = enm('DEFAULT', 'IPTABLES', 'NONE');

export const sidecarSpec = obj({
  workloadSelector: obj({ labels: strMap() }),
  ingress: list(
    obj(
      { port, bind: str(), captureMode, defaultEndpoint: str(), tls: serverTls, connectionPool },
      { required: ['port'] },
    ),
  ),
  egress: list(obj({ port, bind: str(), captureMode, hosts: strList() }, { required: ['hosts'] })),
  outboundTrafficPolicy: obj({ mode: enm('REGISTRY_ONLY', 'ALLOW_ANY'), egressProxy: destination }),
  inboundConnectionPool: connectionPool,
});

/** EnvoyFilter: 1.0 `workloadLabels` + `filters`, or the later `workloadSelector` + `configPatches`. */
export const envoyFilterSpec = obj({
  workloadLabels: strMap(),
  workloadSelector: obj({ labels: strMap() }),
  targetRefs: list(any()),
  filters: list(any()),
  configPatches: list(any()),
  priority: int(),
});

export const workloadGroupSpec = obj({ metadata: any(), template: workloadEntrySpec, probe: any() });
