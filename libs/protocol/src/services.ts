import type { ServiceDefinition } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protocolErrors } from './errors';
import { envoyIncludeDirs } from './proto-files';
import { istioRoot } from './root';

/**
 * proto-loader options for every service definition: snake_case fields, int64 as Number,
 * enums by name, defaults filled in, virtual oneof fields. Any fields stay in wire form
 * (`{ type_url, value }`); use unpackAny / decode for the object form.
 */
export const GRPC_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

const ENVOY_SERVICE_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/listener/v3/lds.proto',
  'envoy/service/route/v3/rds.proto',
  'envoy/service/cluster/v3/cds.proto',
  'envoy/service/endpoint/v3/eds.proto',
  'envoy/service/secret/v3/sds.proto',
  'envoy/service/status/v3/csds.proto',
  'envoy/service/load_stats/v3/lrs.proto',
];

let envoyPackage: protoLoader.PackageDefinition | undefined;
const istioPackages = new Map<string, protoLoader.PackageDefinition>();

function envoyPackageDefinition(): protoLoader.PackageDefinition {
  if (!envoyPackage) {
    try {
      envoyPackage = protoLoader.loadSync(ENVOY_SERVICE_FILES, {
        ...GRPC_LOADER_OPTIONS,
        includeDirs: envoyIncludeDirs(),
      });
    } catch (e) {
      throw protocolErrors.error('PROTOCOL_ERR_PROTO_LOAD', { reason: (e as Error).message }, [], e);
    }
  }
  return envoyPackage;
}

function istioPackageDefinition(entry: string): protoLoader.PackageDefinition {
  let pkg = istioPackages.get(entry);
  if (!pkg) {
    try {
      pkg = protoLoader.fromJSON(istioRoot(entry).toJSON(), GRPC_LOADER_OPTIONS);
    } catch (e) {
      throw protocolErrors.error('PROTOCOL_ERR_PROTO_LOAD', { reason: (e as Error).message }, [], e);
    }
    istioPackages.set(entry, pkg);
  }
  return pkg;
}

function service(pkg: protoLoader.PackageDefinition, name: string): ServiceDefinition {
  const def = pkg[name];
  if (!def || typeof def !== 'object' || 'format' in def) {
    throw protocolErrors.error('PROTOCOL_ERR_PROTO_LOAD', { reason: `service ${name} not found` });
  }
  return def as unknown as ServiceDefinition;
}

/** envoy.service.discovery.v3.AggregatedDiscoveryService (StreamAggregatedResources, DeltaAggregatedResources). */
export function adsServiceDefinition(): ServiceDefinition {
  return service(envoyPackageDefinition(), 'envoy.service.discovery.v3.AggregatedDiscoveryService');
}

/** envoy.service.listener.v3.ListenerDiscoveryService (LDS). */
export function ldsServiceDefinition(): ServiceDefinition {
  return service(envoyPackageDefinition(), 'envoy.service.listener.v3.ListenerDiscoveryService');
}

/** envoy.service.route.v3.RouteDiscoveryService (RDS). */
export function rdsServiceDefinition(): ServiceDefinition {
  return service(envoyPackageDefinition(), 'envoy.service.route.v3.RouteDiscoveryService');
}

/** envoy.service.cluster.v3.ClusterDiscoveryService (CDS). */
export function cdsServiceDefinition(): ServiceDefinition {
  return service(envoyPackageDefinition(), 'envoy.service.cluster.v3.ClusterDiscoveryService');
}

/** envoy.service.endpoint.v3.EndpointDiscoveryService (EDS). */
export function edsServiceDefinition(): ServiceDefinition {
  return service(envoyPackageDefinition(), 'envoy.service.endpoint.v3.EndpointDiscoveryService');
}

/** envoy.service.secret.v3.SecretDiscoveryService (SDS). */
export function sdsServiceDefinition(): ServiceDefinition {
  return service(envoyPackageDefinition(), 'envoy.service.secret.v3.SecretDiscoveryService');
}

/** envoy.service.status.v3.ClientStatusDiscoveryService (CSDS, for proxy-status style debugging). */
export function csdsServiceDefinition(): ServiceDefinition {
  return service(envoyPackageDefinition(), 'envoy.service.status.v3.ClientStatusDiscoveryService');
}

/** envoy.service.load_stats.v3.LoadReportingService (LRS). */
export function lrsServiceDefinition(): ServiceDefinition {
  return service(envoyPackageDefinition(), 'envoy.service.load_stats.v3.LoadReportingService');
}

/** istio.mixer.v1.Mixer (Check, Report), Istio 1.0's Mixer API. */
export function mixerServiceDefinition(): ServiceDefinition {
  return service(istioPackageDefinition('mixer/v1/service.proto'), 'istio.mixer.v1.Mixer');
}

/** istio.v1.auth.IstioCertificateService (CreateCertificate), Istio's CA API. */
export function caServiceDefinition(): ServiceDefinition {
  return service(istioPackageDefinition('security/v1alpha1/ca.proto'), 'istio.v1.auth.IstioCertificateService');
}

/** istio.v1.auth.IstioCAService (HandleCSR), Istio 1.0's node-agent CSR API. */
export function legacyCaServiceDefinition(): ServiceDefinition {
  return service(istioPackageDefinition('security/proto/ca_service.proto'), 'istio.v1.auth.IstioCAService');
}

/** The proto-loader package definition holding all Envoy xDS services (for makeGenericClientConstructor & co.). */
export function envoyServicesPackage(): protoLoader.PackageDefinition {
  return envoyPackageDefinition();
}
