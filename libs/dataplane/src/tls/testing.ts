/**
 * Test helpers for outbound mTLS: a sidecar engine with a CertificateProvider, and the snapshot
 * of an outbound listener routing to one mTLS cluster whose client certificate (`default`) and
 * CA (`ROOTCA`) come by SDS name, as Pilot emits them for ISTIO_MUTUAL.
 */
import { silentLogger } from '@tsmesh/core';
import { Dataplane } from '../engine/dataplane';
import { httpListenerYaml, staticClusterYaml, yamlSnapshot } from '../engine/testing';
import { registerBuiltinFilters } from '../filters/builtin';
import { FilterRegistry } from '../filters/types';
import type { CertificateProvider } from './certificate-provider';

export const OUTBOUND_CLUSTER = 'outbound|9080||reviews.default.svc.cluster.local';
export const OUTBOUND_SNI = 'outbound_.9080_._.reviews.default.svc.cluster.local';

export function sidecarEngine(provider?: CertificateProvider): Dataplane {
  return new Dataplane({
    nodeId: 'sidecar~127.0.0.1~productpage.default~default.svc.cluster.local',
    logger: silentLogger(),
    filters: registerBuiltinFilters(new FilterRegistry()),
    tls: { provider },
    drainMs: 10,
  });
}

/**
 * Listener `outbound` → cluster {@link OUTBOUND_CLUSTER} at `127.0.0.1:port` over mTLS with SNI
 * {@link OUTBOUND_SNI} and secure naming on `san`. `clusterExtra` goes into the cluster before
 * its transport socket, `commonExtra` into its `common_tls_context`.
 */
export function outboundMtlsSnapshot(o: {
  port: number;
  san: string;
  secrets?: string[];
  clusterExtra?: string;
  commonExtra?: string;
  connectTimeout?: string;
}) {
  const cluster = staticClusterYaml(
    OUTBOUND_CLUSTER,
    [`127.0.0.1:${o.port}`],
    `${o.clusterExtra ?? ''}transport_socket:
  name: envoy.transport_sockets.tls
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
    sni: ${OUTBOUND_SNI}
    common_tls_context:
      ${o.commonExtra ?? ''}tls_certificate_sds_secret_configs: [{name: default}]
      combined_validation_context:
        default_validation_context:
          match_subject_alt_names: [{exact: "${o.san}"}]
        validation_context_sds_secret_config: {name: ROOTCA}`,
  );
  return yamlSnapshot({
    listeners: [httpListenerYaml('outbound', 'out')],
    routes: [
      `name: out\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: "${OUTBOUND_CLUSTER}"}}]}]`,
    ],
    clusters: [
      o.connectTimeout ? cluster.replace('connect_timeout: 1s', `connect_timeout: ${o.connectTimeout}`) : cluster,
    ],
    secrets: o.secrets ?? [],
  });
}
