/**
 * Peer authentication: which mTLS mode a workload port gets (STRICT, PERMISSIVE,
 * DISABLE) from `security.istio.io` PeerAuthentication (workload selector >
 * namespace > root namespace; port-level on workload policies; UNSET inherits)
 * or, when none applies, the 1.0 `authentication.istio.io` Policy (targeted >
 * namespace `default` > MeshPolicy `default`; `peers: [{mtls: {}}]` = STRICT).
 * Then the Envoy pieces: inbound filter chains (tls_inspector +
 * `transport_protocol: tls` for PERMISSIVE) and the outbound UpstreamTlsContext
 * with secure naming (`match_typed_subject_alt_names`) and ALPN `istio`.
 */
import type { AuthenticationPolicySpec, PeerMtlsMode } from '@tsmesh/mesh-config';
import { appliesTo, oldestFirst, type SecurityConfigs, type SecurityObject, type WorkloadInfo } from './inputs';

export type MtlsMode = 'DISABLE' | 'PERMISSIVE' | 'STRICT';
export type Msg = Record<string, unknown>;

/** Istio's SDS resource names: the workload certificate and the trust bundle. */
export const SDS_CERT = 'default';
export const SDS_ROOT = 'ROOTCA';
export const ISTIO_ALPN_OUTBOUND = ['istio'];
/** What an Istio sidecar's inbound TLS chain offers/accepts (Istio 1.x values). */
export const ISTIO_ALPN_INBOUND_MATCH = [
  'istio',
  'istio-peer-exchange',
  'istio-http/1.0',
  'istio-http/1.1',
  'istio-h2',
];
export const TLS_INSPECTOR = 'envoy.filters.listener.tls_inspector';
const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const TLS_INSPECTOR_TYPE = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';

function fromV1beta1(mode: PeerMtlsMode | undefined): MtlsMode | undefined {
  return mode === 'STRICT' || mode === 'PERMISSIVE' || mode === 'DISABLE' ? mode : undefined;
}

/** 1.0 Policy semantics: an mtls peer method means STRICT unless it says PERMISSIVE (or peerIsOptional). */
export function modeOfPolicy(spec: AuthenticationPolicySpec): MtlsMode {
  const mtls = (spec.peers ?? []).find((p) => p.mtls !== undefined || (p as Record<string, unknown>)['mtls'] === null);
  if (!mtls) return 'DISABLE';
  if (mtls.mtls?.mode === 'PERMISSIVE' || spec.peerIsOptional) return 'PERMISSIVE';
  return 'STRICT';
}

function policyTargets(
  p: SecurityObject<AuthenticationPolicySpec>,
  w: WorkloadInfo,
  port: number,
): 'port' | 'service' | null {
  for (const t of p.spec.targets ?? []) {
    const svc = w.services.find((s) => s.name === t.name || s.hostname === t.name);
    if (!svc) continue;
    if (!t.ports?.length) return 'service';
    const hit = t.ports.some(
      (tp) =>
        tp.number === port ||
        (tp.name !== undefined && svc.ports.some((sp) => sp.name === tp.name && sp.number === port)),
    );
    if (hit) return 'port';
  }
  return null;
}

/** The authentication.istio.io Policy governing this workload port (most specific wins), if any. */
export function effectivePolicy(
  w: WorkloadInfo,
  c: SecurityConfigs,
  port: number,
): SecurityObject<AuthenticationPolicySpec> | undefined {
  const inNs = oldestFirst(c.policies.filter((p) => p.namespace === w.namespace));
  return (
    inNs.find((p) => policyTargets(p, w, port) === 'port') ??
    inNs.find((p) => policyTargets(p, w, port) === 'service') ??
    inNs.find((p) => !p.spec.targets?.length && p.name === 'default') ??
    oldestFirst(c.meshPolicies).find((p) => p.name === 'default')
  );
}

/** Effective inbound mTLS mode for one workload port. */
export function resolveMtlsMode(w: WorkloadInfo, c: SecurityConfigs, port: number): MtlsMode {
  const pas = oldestFirst(c.peerAuthentications.filter((p) => appliesTo(p, w, c)));
  if (pas.length > 0) {
    const workload = pas.find((p) => p.namespace === w.namespace && p.spec.selector?.matchLabels);
    const ns = pas.find((p) => p.namespace === w.namespace && !p.spec.selector?.matchLabels);
    const mesh = pas.find((p) => p.namespace === c.rootNamespace && !p.spec.selector?.matchLabels);
    const portLevel = workload?.spec.portLevelMtls?.[String(port)]?.mode;
    return (
      fromV1beta1(portLevel) ??
      fromV1beta1(workload?.spec.mtls?.mode) ??
      fromV1beta1(ns?.spec.mtls?.mode) ??
      fromV1beta1(mesh?.spec.mtls?.mode) ??
      // A PeerAuthentication that exists but leaves everything UNSET: Istio's default, PERMISSIVE.
      'PERMISSIVE'
    );
  }
  const policy = effectivePolicy(w, c, port);
  return policy ? modeOfPolicy(policy.spec) : 'DISABLE';
}

export interface CertSource {
  /** `sds`: secrets `default`/`ROOTCA` served by the proxy's identity provider; `files`: the 1.0 /etc/certs triple. */
  kind: 'sds' | 'files';
  dir?: string;
}

const SDS_CONFIG = { ads: {}, resource_api_version: 'V3' };

function commonTlsContext(src: CertSource, alpn: string[], validation: Msg): Msg {
  if (src.kind === 'files') {
    const dir = src.dir ?? '/etc/certs';
    return {
      tls_certificates: [
        { certificate_chain: { filename: `${dir}/cert-chain.pem` }, private_key: { filename: `${dir}/key.pem` } },
      ],
      validation_context: { trusted_ca: { filename: `${dir}/root-cert.pem` }, ...validation },
      alpn_protocols: alpn,
    };
  }
  return {
    tls_certificate_sds_secret_configs: [{ name: SDS_CERT, sds_config: SDS_CONFIG }],
    combined_validation_context: {
      default_validation_context: validation,
      validation_context_sds_secret_config: { name: SDS_ROOT, sds_config: SDS_CONFIG },
    },
    alpn_protocols: alpn,
  };
}

/** DownstreamTlsContext requiring a client certificate from the mesh CA. */
export function buildInboundTlsContext(src: CertSource = { kind: 'sds' }): Msg {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': DOWNSTREAM_TLS,
      common_tls_context: commonTlsContext(src, ['istio-peer-exchange', 'h2', 'http/1.1', 'istio'], {}),
      require_client_certificate: { value: true },
    },
  };
}

export interface InboundChainPlan {
  /** Listener filters to add (tls_inspector for PERMISSIVE/STRICT). */
  listenerFilters: Msg[];
  /** One entry per filter chain to build, in order: its filter_chain_match and transport_socket. */
  chains: { filter_chain_match?: Msg; transport_socket?: Msg; mtls: boolean }[];
}

/**
 * Filter chains for an inbound port in `mode`: STRICT = one TLS chain (plaintext
 * has no chain, so it gets no bytes through); PERMISSIVE = a TLS chain selected
 * by `transport_protocol: tls` plus a plaintext chain; DISABLE = plaintext only.
 */
export function planInboundChains(mode: MtlsMode, src: CertSource = { kind: 'sds' }): InboundChainPlan {
  const inspector = { name: TLS_INSPECTOR, typed_config: { '@type': TLS_INSPECTOR_TYPE } };
  const tls = {
    filter_chain_match: { transport_protocol: 'tls' },
    transport_socket: buildInboundTlsContext(src),
    mtls: true,
  };
  if (mode === 'STRICT') return { listenerFilters: [inspector], chains: [tls] };
  if (mode === 'PERMISSIVE') return { listenerFilters: [inspector], chains: [tls, { mtls: false }] };
  return { listenerFilters: [], chains: [{ mtls: false }] };
}

export interface DestinationRuleTls {
  mode?: 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  subjectAltNames?: string[];
  sni?: string;
}

export interface OutboundTlsOptions {
  trustDomain?: string;
  /** SNI for ISTIO_MUTUAL, Istio's `outbound_.<port>_.<subset>_.<host>`. */
  sni?: string;
  certSource?: CertSource;
}

/** Service accounts (`ns/sa` or `sa` in `defaultNamespace`, or full SPIFFE IDs) → SPIFFE IDs. */
export function spiffeIdsFor(
  serviceAccounts: readonly string[],
  trustDomain: string,
  defaultNamespace = 'default',
): string[] {
  const out = new Set<string>();
  for (const sa of serviceAccounts) {
    if (sa.startsWith('spiffe://')) out.add(sa);
    else if (sa.includes('/')) {
      const [ns, name] = sa.split('/');
      out.add(`spiffe://${trustDomain}/ns/${ns}/sa/${name}`);
    } else out.add(`spiffe://${trustDomain}/ns/${defaultNamespace}/sa/${sa}`);
  }
  return [...out].sort();
}

/**
 * Transport socket for an outbound cluster from a DestinationRule `tls` block.
 * ISTIO_MUTUAL: the workload cert, the mesh root, ALPN `istio`, and secure
 * naming — the server must present one of `serviceAccountIds` (SPIFFE URIs) as
 * a URI SAN. MUTUAL/SIMPLE: the files named in the rule. DISABLE/none: undefined.
 */
export function buildOutboundTlsContext(
  tls: DestinationRuleTls | undefined,
  serviceAccountIds: readonly string[],
  o: OutboundTlsOptions = {},
): Msg | undefined {
  if (!tls?.mode || tls.mode === 'DISABLE') return undefined;
  const sanMatchers = (ids: readonly string[]) => ids.map((id) => ({ san_type: 'URI', matcher: { exact: id } }));
  if (tls.mode === 'ISTIO_MUTUAL') {
    const validation = serviceAccountIds.length
      ? { match_typed_subject_alt_names: sanMatchers(serviceAccountIds) }
      : {};
    return {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': UPSTREAM_TLS,
        common_tls_context: commonTlsContext(o.certSource ?? { kind: 'sds' }, ISTIO_ALPN_OUTBOUND, validation),
        ...(o.sni ? { sni: o.sni } : {}),
      },
    };
  }
  const validation: Msg = {};
  if (tls.caCertificates) validation['trusted_ca'] = { filename: tls.caCertificates };
  if (tls.subjectAltNames?.length) {
    validation['match_typed_subject_alt_names'] = tls.subjectAltNames.map((s) => ({
      san_type: s.includes('://') ? 'URI' : 'DNS',
      matcher: { exact: s },
    }));
  }
  const common: Msg = { ...(Object.keys(validation).length ? { validation_context: validation } : {}) };
  if (tls.mode === 'MUTUAL' && tls.clientCertificate && tls.privateKey) {
    common['tls_certificates'] = [
      { certificate_chain: { filename: tls.clientCertificate }, private_key: { filename: tls.privateKey } },
    ];
  }
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: { '@type': UPSTREAM_TLS, common_tls_context: common, ...(tls.sni ? { sni: tls.sni } : {}) },
  };
}
