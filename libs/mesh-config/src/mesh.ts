import { parse } from 'yaml';
import { meshConfigErrors } from './errors';
import { bool, checkValue, dur, enm, int, obj, str, strList, strMap, type Issues } from './schema';
import { DEFAULT_DOMAIN, ISTIO_SYSTEM_NAMESPACE } from './defaults';

/**
 * Mesh-wide settings: Istio's `MeshConfig` (istio/api `mesh/v1alpha1/config.proto`,
 * the `istio` ConfigMap's `mesh` key), with 1.0 defaults from
 * `install/kubernetes/helm/istio/templates/configmap.yaml`, plus the 1.1
 * `outboundTrafficPolicy` (default ALLOW_ANY as later Istio).
 */
export interface ProxyConfig {
  configPath: string;
  binaryPath: string;
  serviceCluster: string;
  drainDuration: string;
  parentShutdownDuration: string;
  discoveryAddress: string;
  discoveryRefreshDelay: string;
  zipkinAddress: string;
  connectTimeout: string;
  statsdUdpAddress?: string;
  proxyAdminPort: number;
  statusPort: number;
  controlPlaneAuthPolicy: 'NONE' | 'MUTUAL_TLS';
  concurrency: number;
  interceptionMode: 'REDIRECT' | 'TPROXY' | 'NONE';
  proxyMetadata?: Record<string, string>;
}

export interface MeshConfig {
  trustDomain: string;
  rootNamespace: string;
  mixerCheckServer: string;
  mixerReportServer: string;
  disablePolicyChecks: boolean;
  policyCheckFailOpen: boolean;
  proxyListenPort: number;
  proxyHttpPort?: number;
  connectTimeout: string;
  ingressClass: string;
  ingressService: string;
  ingressControllerMode: 'OFF' | 'DEFAULT' | 'STRICT';
  authPolicy: 'NONE' | 'MUTUAL_TLS';
  enableTracing: boolean;
  accessLogFile: string;
  accessLogFormat: string;
  accessLogEncoding: 'TEXT' | 'JSON';
  outboundTrafficPolicy: { mode: 'ALLOW_ANY' | 'REGISTRY_ONLY' };
  defaultServiceExportTo: string[];
  defaultVirtualServiceExportTo: string[];
  defaultDestinationRuleExportTo: string[];
  enableAutoMtls: boolean;
  sdsUdsPath: string;
  /** Istio 1.6+: whether outbound clusters of HTTP/1.1 service ports speak HTTP/2 to the server sidecar. */
  h2UpgradePolicy: 'DO_NOT_UPGRADE' | 'UPGRADE';
  defaultConfig: ProxyConfig;
}

export function defaultMeshConfig(): MeshConfig {
  return {
    trustDomain: DEFAULT_DOMAIN,
    rootNamespace: ISTIO_SYSTEM_NAMESPACE,
    mixerCheckServer: 'istio-policy.istio-system.svc.cluster.local:9091',
    mixerReportServer: 'istio-telemetry.istio-system.svc.cluster.local:9091',
    disablePolicyChecks: false,
    policyCheckFailOpen: false,
    proxyListenPort: 15001,
    connectTimeout: '10s',
    ingressClass: 'istio',
    ingressService: 'istio-ingressgateway',
    ingressControllerMode: 'OFF',
    authPolicy: 'NONE',
    enableTracing: true,
    accessLogFile: '/dev/stdout',
    accessLogFormat: '',
    accessLogEncoding: 'TEXT',
    outboundTrafficPolicy: { mode: 'ALLOW_ANY' },
    defaultServiceExportTo: ['*'],
    defaultVirtualServiceExportTo: ['*'],
    defaultDestinationRuleExportTo: ['*'],
    enableAutoMtls: false,
    sdsUdsPath: '',
    h2UpgradePolicy: 'DO_NOT_UPGRADE',
    defaultConfig: {
      configPath: '/etc/istio/proxy',
      binaryPath: '/usr/local/bin/envoy',
      serviceCluster: 'istio-proxy',
      drainDuration: '45s',
      parentShutdownDuration: '1m0s',
      discoveryAddress: 'istio-pilot.istio-system:15010',
      discoveryRefreshDelay: '1s',
      zipkinAddress: 'zipkin.istio-system:9411',
      connectTimeout: '10s',
      proxyAdminPort: 15000,
      statusPort: 0,
      controlPlaneAuthPolicy: 'NONE',
      concurrency: 0,
      interceptionMode: 'REDIRECT',
    },
  };
}

const proxyConfigSpec = obj({
  configPath: str(),
  binaryPath: str(),
  serviceCluster: str(),
  drainDuration: dur(),
  parentShutdownDuration: dur(),
  discoveryAddress: str(),
  discoveryRefreshDelay: dur(),
  zipkinAddress: str(),
  connectTimeout: dur(),
  statsdUdpAddress: str(),
  proxyAdminPort: int(0, 65535),
  statusPort: int(0, 65535),
  controlPlaneAuthPolicy: enm('NONE', 'MUTUAL_TLS'),
  concurrency: int(0),
  interceptionMode: enm('REDIRECT', 'TPROXY', 'NONE'),
  proxyMetadata: strMap(),
  customConfigFile: str(),
  statNameLength: int(0),
});

const meshSpec = obj({
  trustDomain: str(),
  rootNamespace: str(),
  mixerCheckServer: str(),
  mixerReportServer: str(),
  mixerAddress: str(),
  disablePolicyChecks: bool(),
  policyCheckFailOpen: bool(),
  sidecarToTelemetrySessionAffinity: bool(),
  proxyListenPort: int(0, 65535),
  proxyHttpPort: int(0, 65535),
  connectTimeout: dur(),
  ingressClass: str(),
  ingressService: str(),
  ingressControllerMode: enm('OFF', 'DEFAULT', 'STRICT'),
  authPolicy: enm('NONE', 'MUTUAL_TLS'),
  rdsRefreshDelay: dur(),
  enableTracing: bool(),
  accessLogFile: str(),
  accessLogFormat: str(),
  accessLogEncoding: enm('TEXT', 'JSON'),
  outboundTrafficPolicy: obj({ mode: enm('ALLOW_ANY', 'REGISTRY_ONLY') }),
  defaultServiceExportTo: strList(),
  defaultVirtualServiceExportTo: strList(),
  defaultDestinationRuleExportTo: strList(),
  enableAutoMtls: bool(),
  enableClientSidePolicyCheck: bool(),
  sdsUdsPath: str(),
  h2UpgradePolicy: enm('DO_NOT_UPGRADE', 'UPGRADE'),
  defaultConfig: proxyConfigSpec,
});

function isConfigMap(doc: unknown): doc is { data?: Record<string, unknown> } {
  return !!doc && typeof doc === 'object' && (doc as Record<string, unknown>)['kind'] === 'ConfigMap';
}

/**
 * Parses mesh config YAML (bare, or Istio's `istio` ConfigMap whose `data.mesh` holds it) over the
 * defaults. Throws `MESH_CONFIG_ERR_INVALID_CONFIG` listing every field error.
 */
export function loadMeshConfig(yamlText: string): MeshConfig {
  let doc: unknown;
  try {
    doc = parse(yamlText);
  } catch (e) {
    throw meshConfigErrors.error('MESH_CONFIG_ERR_INVALID_YAML', { detail: (e as Error).message.split('\n')[0] });
  }
  const base = defaultMeshConfig();
  if (isConfigMap(doc)) {
    const mesh = doc.data?.['mesh'];
    return typeof mesh === 'string' ? loadMeshConfig(mesh) : base;
  }
  if (doc === null || doc === undefined) return base;
  const out: Issues = { errors: [], warnings: [] };
  const clean = checkValue(meshSpec, doc, '', out) as Partial<MeshConfig> | undefined;
  if (out.errors.length > 0) {
    throw meshConfigErrors.error('MESH_CONFIG_ERR_INVALID_CONFIG', { what: 'mesh config' }, out.errors);
  }
  const c = clean ?? {};
  return {
    ...base,
    ...c,
    outboundTrafficPolicy: { ...base.outboundTrafficPolicy, ...(c.outboundTrafficPolicy ?? {}) },
    defaultConfig: { ...base.defaultConfig, ...(c.defaultConfig ?? {}) },
  };
}
