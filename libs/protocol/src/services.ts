import type { ServiceDefinition } from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';
import { protocolErrors } from './errors';
import * as protobuf from 'protobufjs';
import { istioRoot, lookupReflection } from './root';

/**
 * proto-loader options for every service definition: snake_case fields, int64 as Number,
 * enums by name, defaults filled in, virtual oneof fields. Any fields stay in wire form
 * (`{ type_url, value }`); use unpackAny / decode for the object form.
 */
export const GRPC_LOADER_OPTIONS: ProtoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

let envoyServices: Map<string, ServiceDefinition> | undefined;
const istioPackages = new Map<string, ProtoLoader.PackageDefinition>();

/**
 * A gRPC service definition built on the shared Envoy root (envoyRoot), with proto-loader's
 * object conversion (GRPC_LOADER_OPTIONS): `fromObject` + `encode` out, `decode` + `toObject` in.
 * Loading the xDS services through proto-loader instead would parse the Envoy API a second
 * time into a root of its own and build descriptor objects for every message in it: several
 * MB of a sidecar's heap for nothing it uses.
 */
function envoyService(name: string): ServiceDefinition {
  envoyServices ??= new Map();
  let def = envoyServices.get(name);
  if (def) return def;
  let svc: protobuf.Service;
  try {
    const found = lookupReflection(name);
    if (!(found instanceof protobuf.Service)) throw new Error(`service ${name} not found`);
    svc = found;
  } catch (e) {
    throw protocolErrors.error('PROTOCOL_ERR_PROTO_LOAD', { reason: (e as Error).message }, [], e);
  }
  const out: Record<string, unknown> = {};
  for (const m of svc.methodsArray) {
    m.resolve();
    const req = m.resolvedRequestType as protobuf.Type;
    const res = m.resolvedResponseType as protobuf.Type;
    out[m.name] = {
      path: `/${name}/${m.name}`,
      requestStream: !!m.requestStream,
      responseStream: !!m.responseStream,
      requestSerialize: (o: object) => Buffer.from(req.encode(req.fromObject(o)).finish()),
      requestDeserialize: (b: Buffer) => req.toObject(req.decode(b), GRPC_LOADER_OPTIONS),
      responseSerialize: (o: object) => Buffer.from(res.encode(res.fromObject(o)).finish()),
      responseDeserialize: (b: Buffer) => res.toObject(res.decode(b), GRPC_LOADER_OPTIONS),
      originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
    };
  }
  def = out as unknown as ServiceDefinition;
  envoyServices.set(name, def);
  return def;
}

function istioPackageDefinition(entry: string): ProtoLoader.PackageDefinition {
  let pkg = istioPackages.get(entry);
  if (!pkg) {
    try {
      // Loaded here only: a sidecar without the Mixer filter or Citadel never needs it.
      const protoLoader = require('@grpc/proto-loader') as typeof ProtoLoader;
      pkg = protoLoader.fromJSON(istioRoot(entry).toJSON(), GRPC_LOADER_OPTIONS);
    } catch (e) {
      throw protocolErrors.error('PROTOCOL_ERR_PROTO_LOAD', { reason: (e as Error).message }, [], e);
    }
    istioPackages.set(entry, pkg);
  }
  return pkg;
}

function service(pkg: ProtoLoader.PackageDefinition, name: string): ServiceDefinition {
  const def = pkg[name];
  if (!def || typeof def !== 'object' || 'format' in def) {
    throw protocolErrors.error('PROTOCOL_ERR_PROTO_LOAD', { reason: `service ${name} not found` });
  }
  return def as unknown as ServiceDefinition;
}

/** envoy.service.discovery.v3.AggregatedDiscoveryService (StreamAggregatedResources, DeltaAggregatedResources). */
export function adsServiceDefinition(): ServiceDefinition {
  return envoyService('envoy.service.discovery.v3.AggregatedDiscoveryService');
}

/** envoy.service.listener.v3.ListenerDiscoveryService (LDS). */
export function ldsServiceDefinition(): ServiceDefinition {
  return envoyService('envoy.service.listener.v3.ListenerDiscoveryService');
}

/** envoy.service.route.v3.RouteDiscoveryService (RDS). */
export function rdsServiceDefinition(): ServiceDefinition {
  return envoyService('envoy.service.route.v3.RouteDiscoveryService');
}

/** envoy.service.cluster.v3.ClusterDiscoveryService (CDS). */
export function cdsServiceDefinition(): ServiceDefinition {
  return envoyService('envoy.service.cluster.v3.ClusterDiscoveryService');
}

/** envoy.service.endpoint.v3.EndpointDiscoveryService (EDS). */
export function edsServiceDefinition(): ServiceDefinition {
  return envoyService('envoy.service.endpoint.v3.EndpointDiscoveryService');
}

/** envoy.service.secret.v3.SecretDiscoveryService (SDS). */
export function sdsServiceDefinition(): ServiceDefinition {
  return envoyService('envoy.service.secret.v3.SecretDiscoveryService');
}

/** envoy.service.status.v3.ClientStatusDiscoveryService (CSDS, for proxy-status style debugging). */
export function csdsServiceDefinition(): ServiceDefinition {
  return envoyService('envoy.service.status.v3.ClientStatusDiscoveryService');
}

/** envoy.service.load_stats.v3.LoadReportingService (LRS). */
export function lrsServiceDefinition(): ServiceDefinition {
  return envoyService('envoy.service.load_stats.v3.LoadReportingService');
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
