/**
 * Envoy v3 Bootstrap (envoy.config.bootstrap.v3.Bootstrap) from YAML or JSON, checked against the
 * real proto (unknown fields are errors), plus what the process needs from it: node, admin
 * address, static resources, the ADS cluster's address, and the Zipkin collector.
 */
import { readFileSync } from 'node:fs';
import { isMeshError } from '@tsmesh/core';
import { fromYaml } from '@tsmesh/protocol';
import { emptySnapshot, socketAddress, type Msg, type Snapshot } from '../engine/types';
import type { NodeInfo } from '../xds-client/types';
import { proxyErrors } from './bootstrap-errors';

export interface TracingConfig {
  /** `host:port` of the collector cluster's first endpoint. */
  collector: string;
  path: string;
}

export interface BootstrapInfo {
  raw: Msg;
  node: NodeInfo;
  adminAddress?: string;
  staticResources: Snapshot;
  /** Present when `dynamic_resources.ads_config` names a static gRPC cluster. */
  ads?: { clusterName: string; address: string };
  tracing?: TracingConfig;
}

const ZIPKIN = 'envoy.tracers.zipkin';
const ZIPKIN_TYPE = 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig';

const hostPort = (a: { host: string; port: number }) =>
  a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;

/** First endpoint address of a static cluster (`load_assignment`), as `host:port`. */
export function clusterAddress(cluster: Msg | undefined): string | undefined {
  const ep = cluster?.['load_assignment']?.['endpoints']?.[0]?.['lb_endpoints']?.[0]?.['endpoint'];
  const a = socketAddress(ep?.['address']);
  return a && a.host ? hostPort(a) : undefined;
}

export function parseBootstrap(text: string, file = '<inline>'): BootstrapInfo {
  let raw: Msg;
  try {
    raw = fromYaml<Msg>('envoy.config.bootstrap.v3.Bootstrap', text);
  } catch (e) {
    if (isMeshError(e) && e.fieldErrors.length)
      throw proxyErrors.error('PROXY_ERR_BOOTSTRAP_INVALID', { file }, e.fieldErrors, e);
    throw proxyErrors.error('PROXY_ERR_BOOTSTRAP_INVALID', { file }, [{ path: '', message: (e as Error).message }], e);
  }
  return extractBootstrap(raw, file);
}

export function loadBootstrapFile(file: string): BootstrapInfo {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw proxyErrors.error(
      'PROXY_ERR_BOOTSTRAP_READ',
      { file, why: (e as NodeJS.ErrnoException).code ?? (e as Error).message },
      [],
      e,
    );
  }
  return parseBootstrap(text, file);
}

/** Pulls the process-level settings out of an object-form Bootstrap; collects every field error. */
export function extractBootstrap(raw: Msg, file = '<inline>'): BootstrapInfo {
  const errors: { path: string; message: string }[] = [];
  const sr = raw['static_resources'] ?? {};
  const staticResources: Snapshot = {
    ...emptySnapshot(),
    listeners: sr['listeners'] ?? [],
    clusters: sr['clusters'] ?? [],
    secrets: sr['secrets'] ?? [],
  };
  const clusters = new Map<string, Msg>();
  staticResources.clusters.forEach((c, i) => {
    const name = String(c['name'] ?? '');
    if (clusters.has(name))
      errors.push({ path: `static_resources.clusters[${i}].name`, message: `duplicate cluster ${name}` });
    clusters.set(name, c);
  });
  const names = new Set<string>();
  staticResources.listeners.forEach((l, i) => {
    const name = String(l['name'] ?? '');
    if (names.has(name))
      errors.push({ path: `static_resources.listeners[${i}].name`, message: `duplicate listener ${name}` });
    names.add(name);
  });
  const nodeMsg = raw['node'] ?? {};
  const node: NodeInfo = {
    id: String(nodeMsg['id'] ?? ''),
    cluster: String(nodeMsg['cluster'] ?? ''),
    metadata: nodeMsg['metadata'] ?? {},
    locality: nodeMsg['locality'] ?? {},
    user_agent_name: 'tsmesh',
  };
  const info: BootstrapInfo = { raw, node, staticResources };
  const admin = socketAddress(raw['admin']?.['address']);
  if (admin) info.adminAddress = hostPort(admin);

  const ads = raw['dynamic_resources']?.['ads_config'];
  if (ads) {
    if (!node.id) errors.push({ path: 'node.id', message: 'a node id is required with dynamic_resources' });
    const svc = ads['grpc_services']?.[0];
    const clusterName = String(svc?.['envoy_grpc']?.['cluster_name'] ?? '');
    const target = svc?.['google_grpc']?.['target_uri'] as string | undefined;
    if (clusterName) {
      const address = clusterAddress(clusters.get(clusterName));
      if (!clusters.has(clusterName)) {
        errors.push({
          path: 'dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name',
          message: `unknown static cluster ${clusterName}`,
        });
      } else if (!address) {
        errors.push({
          path: `static_resources.clusters[${clusterName}]`,
          message: 'the ADS cluster needs a load_assignment endpoint',
        });
      } else info.ads = { clusterName, address };
    } else if (target) info.ads = { clusterName: target, address: target };
    else
      errors.push({
        path: 'dynamic_resources.ads_config.grpc_services',
        message: 'one gRPC service (envoy_grpc.cluster_name) is required',
      });
  }

  const http = raw['tracing']?.['http'];
  if (http) {
    const tc = http['typed_config'] ?? {};
    if (http['name'] !== ZIPKIN && tc['@type'] !== ZIPKIN_TYPE) {
      errors.push({
        path: 'tracing.http.name',
        message: `unsupported tracer ${String(http['name'])}; only ${ZIPKIN} (HTTP_JSON)`,
      });
    } else {
      const cname = String(tc['collector_cluster'] ?? '');
      const collector = clusterAddress(clusters.get(cname));
      if (!collector)
        errors.push({
          path: 'tracing.http.typed_config.collector_cluster',
          message: `unknown or empty static cluster ${cname}`,
        });
      else {
        info.tracing = {
          collector,
          path: String(tc['collector_endpoint'] || '/api/v2/spans'),
        };
      }
    }
  }
  if (errors.length) throw proxyErrors.error('PROXY_ERR_BOOTSTRAP_INVALID', { file }, errors);
  return info;
}
