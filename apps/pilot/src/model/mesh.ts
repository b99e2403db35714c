/**
 * Mesh-wide settings (Istio MeshConfig, the `mesh` key of the istio ConfigMap).
 * Only the fields Pilot's generation reads are modelled.
 */
import { readFileSync } from 'node:fs';
import { isMeshError } from '@tsmesh/core';
import { loadMeshConfig } from '@tsmesh/mesh-config';
import { parse } from 'yaml';
import { pilotErrors } from '../errors';

export interface MeshSettings {
  /** `ALLOW_ANY` passes unknown hosts to PassthroughCluster; `REGISTRY_ONLY` sends them to BlackHoleCluster. */
  outboundTrafficPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  trustDomain: string;
  enableTracing: boolean;
  mixerCheckServer?: string;
  mixerReportServer?: string;
  disablePolicyChecks: boolean;
  policyCheckFailOpen: boolean;
  /** Port of the sidecar's explicit HTTP proxy listener (`127.0.0.1_<port>`, RDS `http_proxy`); 0 = none. */
  proxyHttpPort: number;
  /** The sidecar's capture port (`virtual` listener). */
  proxyListenPort: number;
  /** `authPolicy` MUTUAL_TLS turns on ISTIO_MUTUAL for clusters without a DestinationRule tls block. */
  authPolicy: 'NONE' | 'MUTUAL_TLS';
  defaultConfig: Record<string, unknown>;
  connectTimeoutMs: number;
  domainSuffix: string;
  /**
   * MeshConfig `h2UpgradePolicy` (Istio 1.6+): UPGRADE makes outbound clusters of HTTP service ports HTTP/2
   * unless a DestinationRule says DO_NOT_UPGRADE. Default DO_NOT_UPGRADE.
   */
  h2UpgradePolicy: 'DO_NOT_UPGRADE' | 'UPGRADE';
}

export function defaultMeshSettings(domainSuffix = 'cluster.local'): MeshSettings {
  return {
    outboundTrafficPolicy: 'ALLOW_ANY',
    trustDomain: domainSuffix,
    enableTracing: true,
    disablePolicyChecks: true,
    policyCheckFailOpen: false,
    proxyHttpPort: 0,
    proxyListenPort: 15001,
    authPolicy: 'NONE',
    defaultConfig: {},
    connectTimeoutMs: 10_000,
    domainSuffix,
    h2UpgradePolicy: 'DO_NOT_UPGRADE',
  };
}

type Obj = Record<string, unknown>;

/** Reads a MeshConfig object (as in Istio's `mesh` YAML). Unknown fields are ignored. */
export function meshSettingsFrom(raw: unknown, domainSuffix = 'cluster.local'): MeshSettings {
  const m = defaultMeshSettings(domainSuffix);
  if (!raw || typeof raw !== 'object') return m;
  const o = raw as Obj;
  const otp = o['outboundTrafficPolicy'] as Obj | undefined;
  if (otp?.['mode'] === 'REGISTRY_ONLY' || otp?.['mode'] === 'ALLOW_ANY') m.outboundTrafficPolicy = otp['mode'];
  if (typeof o['trustDomain'] === 'string') m.trustDomain = o['trustDomain'];
  if (typeof o['enableTracing'] === 'boolean') m.enableTracing = o['enableTracing'];
  if (typeof o['mixerCheckServer'] === 'string') m.mixerCheckServer = o['mixerCheckServer'];
  if (typeof o['mixerReportServer'] === 'string') m.mixerReportServer = o['mixerReportServer'];
  if (typeof o['disablePolicyChecks'] === 'boolean') m.disablePolicyChecks = o['disablePolicyChecks'];
  if (typeof o['policyCheckFailOpen'] === 'boolean') m.policyCheckFailOpen = o['policyCheckFailOpen'];
  if (typeof o['proxyHttpPort'] === 'number') m.proxyHttpPort = o['proxyHttpPort'];
  if (typeof o['proxyListenPort'] === 'number') m.proxyListenPort = o['proxyListenPort'];
  if (o['authPolicy'] === 'MUTUAL_TLS') m.authPolicy = 'MUTUAL_TLS';
  if (o['h2UpgradePolicy'] === 'UPGRADE' || o['h2UpgradePolicy'] === 'DO_NOT_UPGRADE')
    m.h2UpgradePolicy = o['h2UpgradePolicy'];
  if (o['defaultConfig'] && typeof o['defaultConfig'] === 'object') m.defaultConfig = o['defaultConfig'] as Obj;
  return m;
}

/** Loads `--mesh-config FILE`; accepts the bare MeshConfig or a ConfigMap with a `mesh` key. */
export function loadMeshSettings(file: string, domainSuffix = 'cluster.local'): MeshSettings {
  let doc: unknown;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
    doc = parse(text);
  } catch (e) {
    throw pilotErrors.error('PILOT_ERR_MESH_CONFIG', { file, detail: (e as Error).message });
  }
  try {
    // Field-by-field validation shared with the rest of the mesh (unknown fields, bad enums).
    loadMeshConfig(text);
  } catch (e) {
    const fieldErrors = isMeshError(e) ? e.fieldErrors : [];
    throw pilotErrors.error('PILOT_ERR_MESH_CONFIG', { file, detail: (e as Error).message }, fieldErrors);
  }
  const o = doc as Obj | null;
  if (o && o['kind'] === 'ConfigMap' && typeof (o['data'] as Obj | undefined)?.['mesh'] === 'string') {
    try {
      doc = parse((o['data'] as Obj)['mesh'] as string);
    } catch (e) {
      throw pilotErrors.error('PILOT_ERR_MESH_CONFIG', { file, detail: `data.mesh: ${(e as Error).message}` });
    }
  }
  return meshSettingsFrom(doc, domainSuffix);
}
