/**
 * A connected proxy as Pilot sees it: parsed from the xDS node
 * (`sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local`, Istio 1.0
 * `pilot/pkg/proxy/envoy/v2/README.md`) plus node metadata.
 */
import { pilotErrors } from '../errors';

export type ProxyType = 'sidecar' | 'router';

export interface Proxy {
  id: string;
  type: ProxyType;
  /** First instance IP (from the id, or metadata INSTANCE_IPS). */
  ip: string;
  ips: string[];
  /** `pod.ns` part of the id. */
  podId: string;
  namespace: string;
  /** `ns.svc.cluster.local`, used for short host names. */
  domain: string;
  labels: Record<string, string>;
  metadata: Record<string, unknown>;
  /** `grpc` for proxyless gRPC clients (metadata GENERATOR), else `envoy`. */
  generator: 'envoy' | 'grpc';
}

export interface XdsNode {
  id?: string;
  cluster?: string;
  metadata?: Record<string, unknown> | null;
  locality?: unknown;
  user_agent_name?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * One labels value in any form a proxy sends (a Struct map, or JSON text as in
 * `ISTIO_METAJSON_LABELS` or an agent that put JSON into `ISTIO_META_LABELS`) → a string map.
 * Malformed labels mean no labels, not a broken stream.
 */
function labelsOf(value: unknown): Record<string, string> {
  if (typeof value === 'string') {
    try {
      return labelsOf(JSON.parse(value));
    } catch {
      return {};
    }
  }
  const out: Record<string, string> = {};
  if (value && typeof value === 'object' && !Array.isArray(value))
    for (const [k, v] of Object.entries(value))
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  return out;
}

/** `LABELS` (object or JSON text) merged over `ISTIO_METAJSON_LABELS` (JSON text or object). */
function labelsFrom(meta: Record<string, unknown>): Record<string, string> {
  return { ...labelsOf(meta['ISTIO_METAJSON_LABELS']), ...labelsOf(meta['LABELS']) };
}

/** Parses the node of the first DiscoveryRequest. Throws PILOT_ERR_BAD_NODE. */
export function parseNode(node: XdsNode | undefined | null, domainSuffix = 'cluster.local'): Proxy {
  const id = node?.id ?? '';
  const parts = id.split('~');
  if (parts.length !== 4)
    throw pilotErrors.error('PILOT_ERR_BAD_NODE', { id, detail: 'expected 4 parts separated by ~' });
  const [type, ipPart, podId, domainPart] = parts;
  if (type !== 'sidecar' && type !== 'router')
    throw pilotErrors.error('PILOT_ERR_BAD_NODE', { id, detail: `unknown proxy type ${type}` });
  const meta = (node?.metadata ?? {}) as Record<string, unknown>;
  const namespace = str(meta['NAMESPACE']) ?? podId.split('.')[1] ?? domainPart.split('.')[0] ?? 'default';
  const metaIps =
    str(meta['INSTANCE_IPS'])
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? [];
  const ips = metaIps.length > 0 ? metaIps : ipPart ? [ipPart] : [];
  const generator = String(meta['GENERATOR'] ?? '').toLowerCase() === 'grpc' ? 'grpc' : 'envoy';
  return {
    id,
    type,
    ip: ips[0] ?? ipPart,
    ips,
    podId,
    namespace,
    domain: domainPart || `${namespace}.svc.${domainSuffix}`,
    labels: labelsFrom(meta),
    metadata: meta,
    generator,
  };
}
