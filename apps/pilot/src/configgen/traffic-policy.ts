/**
 * DestinationRule traffic policy → Envoy v3 Cluster fields (Istio 1.0
 * `pilot/pkg/networking/core/v1alpha3/cluster.go` applyTrafficPolicy).
 */
import { parseDuration } from '@tsmesh/core';
import type { ConfigRef } from '../model/push-context';
import { dur, FILTER_NAME, FILTER_TYPE, wrap, type Msg } from './names';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

export interface TrafficPolicy {
  loadBalancer?: Obj;
  connectionPool?: Obj;
  outlierDetection?: Obj;
  tls?: Obj;
}

function overlay(base: TrafficPolicy, over: unknown): TrafficPolicy {
  if (!isObj(over)) return base;
  const out: TrafficPolicy = { ...base };
  for (const k of ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls'] as const)
    if (isObj(over[k])) out[k] = over[k] as Obj;
  return out;
}

function portLevel(policy: unknown, port: number): unknown {
  if (!isObj(policy) || !Array.isArray(policy['portLevelSettings'])) return undefined;
  return (policy['portLevelSettings'] as Obj[]).find((p) => isObj(p['port']) && Number(p['port']['number']) === port);
}

/** Effective policy: DR, DR port-level, subset, subset port-level (later wins per field). */
export function effectivePolicy(dr: ConfigRef | undefined, port: number, subset: string): TrafficPolicy {
  if (!dr) return {};
  let p = overlay({}, dr.spec['trafficPolicy']);
  p = overlay(p, portLevel(dr.spec['trafficPolicy'], port));
  if (subset) {
    const ss = subsetOf(dr, subset);
    if (ss) {
      p = overlay(p, ss['trafficPolicy']);
      p = overlay(p, portLevel(ss['trafficPolicy'], port));
    }
  }
  return p;
}

export function subsetOf(dr: ConfigRef | undefined, name: string): Obj | undefined {
  if (!dr || !Array.isArray(dr.spec['subsets'])) return undefined;
  return (dr.spec['subsets'] as Obj[]).find((s) => s['name'] === name);
}

const ms = (v: unknown): number | undefined => {
  if (v === undefined) return undefined;
  const d = parseDuration(v);
  return d === null ? undefined : d;
};

/**
 * Whether an outbound cluster is upgraded to HTTP/2 (Istio 1.6+ `shouldH2Upgrade`): only HTTP service
 * ports (TCP, TLS, HTTPS, Mongo, Redis never; HTTP2/gRPC ports are HTTP/2 already); the effective
 * `connectionPool.http.h2UpgradePolicy` (DR, port-level, subset, as the rest of the pool) UPGRADE or
 * DO_NOT_UPGRADE decides, DEFAULT or unset follows MeshConfig `h2UpgradePolicy`. Not tied to mTLS.
 * Istio 1.8+ also upgrades non-HTTP ports on an explicit UPGRADE, for its protocol-sniffed ports;
 * tsmesh has no sniffing (a port is what its name says), so a TCP port stays TCP.
 */
export function shouldH2Upgrade(protocol: string, p: TrafficPolicy, meshPolicy: 'DO_NOT_UPGRADE' | 'UPGRADE'): boolean {
  if (protocol !== 'HTTP') return false;
  const http = isObj(p.connectionPool) && isObj(p.connectionPool['http']) ? p.connectionPool['http'] : {};
  // useClientProtocol keeps the client's protocol (later Istio never upgrades such a cluster).
  if (http['useClientProtocol'] === true) return false;
  const override = http['h2UpgradePolicy'];
  if (override === 'UPGRADE') return true;
  if (override === 'DO_NOT_UPGRADE') return false;
  return meshPolicy === 'UPGRADE';
}

/** Applies lb / pool / outlier settings to a cluster in place. */
export function applyTrafficPolicy(cluster: Msg, p: TrafficPolicy, opts: { grpc?: boolean } = {}): void {
  const lb = p.loadBalancer;
  if (lb) {
    if (isObj(lb['consistentHash'])) {
      cluster['lb_policy'] = 'RING_HASH';
      const min = lb['consistentHash']['minimumRingSize'];
      cluster['ring_hash_lb_config'] = { minimum_ring_size: wrap(typeof min === 'number' ? min : 1024) };
    } else {
      switch (lb['simple']) {
        case 'RANDOM':
          cluster['lb_policy'] = opts.grpc ? 'ROUND_ROBIN' : 'RANDOM';
          break;
        case 'LEAST_CONN':
          cluster['lb_policy'] = opts.grpc ? 'ROUND_ROBIN' : 'LEAST_REQUEST';
          break;
        case 'PASSTHROUGH':
          if (!opts.grpc) {
            cluster['type'] = 'ORIGINAL_DST';
            cluster['lb_policy'] = 'CLUSTER_PROVIDED';
            delete cluster['eds_cluster_config'];
          }
          break;
        default:
          cluster['lb_policy'] = 'ROUND_ROBIN';
      }
    }
  }
  const pool = p.connectionPool;
  if (pool) {
    const thresholds: Msg = {};
    const tcp = isObj(pool['tcp']) ? pool['tcp'] : {};
    const http = isObj(pool['http']) ? pool['http'] : {};
    if (typeof tcp['maxConnections'] === 'number') thresholds['max_connections'] = wrap(tcp['maxConnections']);
    const ct = ms(tcp['connectTimeout']);
    if (ct !== undefined) cluster['connect_timeout'] = dur(ct);
    if (isObj(tcp['tcpKeepalive'])) {
      const ka = tcp['tcpKeepalive'];
      const keep: Msg = {};
      if (typeof ka['probes'] === 'number') keep['keepalive_probes'] = wrap(ka['probes']);
      const t = ms(ka['time']);
      if (t !== undefined) keep['keepalive_time'] = wrap(Math.round(t / 1000));
      const iv = ms(ka['interval']);
      if (iv !== undefined) keep['keepalive_interval'] = wrap(Math.round(iv / 1000));
      cluster['upstream_connection_options'] = { tcp_keepalive: keep };
    }
    if (typeof http['http1MaxPendingRequests'] === 'number')
      thresholds['max_pending_requests'] = wrap(http['http1MaxPendingRequests']);
    if (typeof http['http2MaxRequests'] === 'number') thresholds['max_requests'] = wrap(http['http2MaxRequests']);
    if (typeof http['maxRetries'] === 'number') thresholds['max_retries'] = wrap(http['maxRetries']);
    if (typeof http['maxRequestsPerConnection'] === 'number')
      cluster['max_requests_per_connection'] = wrap(http['maxRequestsPerConnection']);
    const idle = ms(http['idleTimeout']);
    if (idle !== undefined) cluster['common_http_protocol_options'] = { idle_timeout: dur(idle) };
    if (Object.keys(thresholds).length > 0) cluster['circuit_breakers'] = { thresholds: [thresholds] };
  }
  const od = p.outlierDetection;
  if (od) {
    const o: Msg = {};
    // Istio 1.0: consecutiveErrors counts gateway errors only (istio/api#617).
    if (typeof od['consecutiveErrors'] === 'number') {
      o['consecutive_gateway_failure'] = wrap(od['consecutiveErrors']);
      o['enforcing_consecutive_gateway_failure'] = wrap(100);
      o['enforcing_consecutive_5xx'] = wrap(0);
    }
    if (typeof od['consecutiveGatewayErrors'] === 'number') {
      o['consecutive_gateway_failure'] = wrap(od['consecutiveGatewayErrors']);
      o['enforcing_consecutive_gateway_failure'] = wrap(100);
    }
    if (typeof od['consecutive5xxErrors'] === 'number') {
      o['consecutive_5xx'] = wrap(od['consecutive5xxErrors']);
      o['enforcing_consecutive_5xx'] = wrap(100);
    }
    const iv = ms(od['interval']);
    if (iv !== undefined) o['interval'] = dur(iv);
    const be = ms(od['baseEjectionTime']);
    if (be !== undefined) o['base_ejection_time'] = dur(be);
    if (typeof od['maxEjectionPercent'] === 'number') o['max_ejection_percent'] = wrap(od['maxEjectionPercent']);
    if (typeof od['minHealthPercent'] === 'number')
      cluster['common_lb_config'] = { healthy_panic_threshold: { value: od['minHealthPercent'] } };
    cluster['outlier_detection'] = o;
  }
}

/** Istio 1.0 `convertIstioMutual` file locations. */
export const ISTIO_CERT_FILES = {
  certChain: '/etc/certs/cert-chain.pem',
  key: '/etc/certs/key.pem',
  root: '/etc/certs/root-cert.pem',
};

/** DR `tls` → transport socket with UpstreamTlsContext; undefined for DISABLE / no tls. */
export function upstreamTlsSocket(
  tls: Obj | undefined,
  clusterName: string,
  spiffeSans: readonly string[],
  http2: boolean,
): Msg | undefined {
  if (!tls || tls['mode'] === undefined || tls['mode'] === 'DISABLE') return undefined;
  const mode = String(tls['mode']);
  const common: Msg = {};
  const validation: Msg = {};
  const sans = Array.isArray(tls['subjectAltNames']) ? (tls['subjectAltNames'] as string[]) : [];
  let sni = typeof tls['sni'] === 'string' ? tls['sni'] : undefined;
  if (mode === 'ISTIO_MUTUAL') {
    common['tls_certificates'] = [
      { certificate_chain: { filename: ISTIO_CERT_FILES.certChain }, private_key: { filename: ISTIO_CERT_FILES.key } },
    ];
    validation['trusted_ca'] = { filename: ISTIO_CERT_FILES.root };
    const all = sans.length > 0 ? sans : spiffeSans;
    if (all.length > 0) validation['match_subject_alt_names'] = all.map((s) => ({ exact: s }));
    common['alpn_protocols'] = http2 ? ['istio', 'h2'] : ['istio'];
    sni = sni ?? clusterName;
  } else {
    if (typeof tls['caCertificates'] === 'string') validation['trusted_ca'] = { filename: tls['caCertificates'] };
    if (sans.length > 0) validation['match_subject_alt_names'] = sans.map((s) => ({ exact: s }));
    if (mode === 'MUTUAL')
      common['tls_certificates'] = [
        {
          certificate_chain: { filename: String(tls['clientCertificate'] ?? '') },
          private_key: { filename: String(tls['privateKey'] ?? '') },
        },
      ];
    if (typeof tls['credentialName'] === 'string')
      common['tls_certificate_sds_secret_configs'] = [{ name: tls['credentialName'], sds_config: { ads: {} } }];
  }
  if (Object.keys(validation).length > 0) common['validation_context'] = validation;
  const ctx: Msg = { '@type': FILTER_TYPE.upstreamTls, common_tls_context: common };
  if (sni) ctx['sni'] = sni;
  return { name: FILTER_NAME.tls, typed_config: ctx };
}
