/**
 * Generates the proxy's `mixer` HTTP filter the way Istio 1.0 Pilot did
 * (`pilot/pkg/networking/plugin/mixer/mixer.go`): an
 * `istio.mixer.v1.config.client.HttpClientConfig` with the proxy's identity
 * attributes, the transport (check/report clusters named
 * `outbound|<port>||<host>`, FAIL_CLOSE unless mesh `policyCheckFailOpen`; Check retries from
 * the node metadata keys Istio 1.1 Pilot read, see `checkRetries`), and
 * per destination service a ServiceConfig (destination.service.* attributes,
 * policy checks off when `disablePolicyChecks`, bound QuotaSpecs). The node metadata key
 * `policy.istio.io/check` overrides both the checks and the fail policy, see `policyCheckOverride`.
 */
import { parseDuration } from '@tsmesh/core';
import type { MeshSettings } from '../../model/mesh';
import type { Proxy } from '../../model/proxy';
import type { Service } from '../../model/types';
import { dur, type Msg } from '../names';

export const MIXER_FILTER_NAME = 'mixer';
export const MIXER_CONFIG_TYPE = 'type.googleapis.com/istio.mixer.v1.config.client.HttpClientConfig';
export const MIXER_TCP_CONFIG_TYPE = 'type.googleapis.com/istio.mixer.v1.config.client.TcpClientConfig';

export interface QuotaSpecMsg {
  rules: Array<{ match?: unknown[]; quotas: Array<{ quota: string; charge?: number }> }>;
}

export interface MixerFilterOptions {
  direction: 'inbound' | 'outbound';
  /** The port the listener serves (inbound `destination.port`). */
  port?: number;
  /** QuotaSpecs bound to `service` (see quotaSpecsFor). */
  quotaSpecs?: readonly QuotaSpecMsg[];
}

const str = (v: string) => ({ string_value: v });

/** `host:port` → Istio's outbound cluster name `outbound|port||host`. */
export function mixerCluster(server: string | undefined): string {
  if (!server) return '';
  const i = server.lastIndexOf(':');
  if (i < 0) return `outbound|9091||${server}`;
  return `outbound|${server.slice(i + 1)}||${server.slice(0, i)}`;
}

function ipBytes(ip: string): Msg | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  return m ? { bytes_value: Buffer.from(m.slice(1).map(Number)) } : undefined;
}

export function serviceAttributes(service: Service): Msg {
  return {
    'destination.service.host': str(service.hostname),
    'destination.service.name': str(service.name),
    'destination.service.namespace': str(service.namespace),
    'destination.service.uid': str(`istio://${service.namespace}/services/${service.name}`),
    // 1.0 also kept the deprecated destination.service (the host)
    'destination.service': str(service.hostname),
  };
}

/**
 * The direction the filter reports as. A gateway's listeners are its outbound side (Istio 1.0
 * builds them through the plugin's OnOutboundListener): `context.reporter.kind=outbound`,
 * `source.*` = the gateway, so Mixer counts them as `reporter="source"`, never as a destination.
 */
export function mixerDirection(proxy: Pick<Proxy, 'type'>, direction: 'inbound' | 'outbound'): 'inbound' | 'outbound' {
  return proxy.type === 'router' ? 'outbound' : direction;
}

/** The proxy's own attributes for one direction, and what an outbound filter forwards. */
function proxyAttributes(proxy: Proxy, opts: MixerFilterOptions): { attrs: Msg; forward?: Msg } {
  const uid = `kubernetes://${proxy.podId}`;
  const attrs: Msg = {
    'context.reporter.uid': str(uid),
    'context.reporter.kind': str(opts.direction),
  };
  let forward: Msg | undefined;
  if (opts.direction === 'inbound') {
    attrs['destination.uid'] = str(uid);
    attrs['destination.namespace'] = str(proxy.namespace);
    const ip = ipBytes(proxy.ip);
    if (ip) attrs['destination.ip'] = ip;
    if (opts.port) attrs['destination.port'] = { int64_value: opts.port };
    if (proxy.labels && Object.keys(proxy.labels).length > 0)
      attrs['destination.labels'] = { string_map_value: { entries: { ...proxy.labels } } };
  } else {
    attrs['source.uid'] = str(uid);
    attrs['source.namespace'] = str(proxy.namespace);
    if (proxy.labels && Object.keys(proxy.labels).length > 0)
      attrs['source.labels'] = { string_map_value: { entries: { ...proxy.labels } } };
    // the server-side sidecar learns who called from x-istio-attributes
    forward = {
      attributes: {
        'source.uid': str(uid),
        ...(attrs['source.labels'] ? { 'source.labels': attrs['source.labels'] } : {}),
      },
    };
  }
  return { attrs, forward };
}

/** Node metadata keys of Istio 1.1 Pilot (pod annotations the agent puts in the node's metadata). */
export const POLICY_CHECK = 'policy.istio.io/check';
export const POLICY_CHECK_RETRIES = 'policy.istio.io/checkRetries';
export const POLICY_CHECK_BASE_RETRY_WAIT = 'policy.istio.io/checkBaseRetryWaitTime';
export const POLICY_CHECK_MAX_RETRY_WAIT = 'policy.istio.io/checkMaxRetryWaitTime';

/**
 * NetworkFailPolicy's Check retry fields from the proxy's node metadata, as Istio 1.1 Pilot set
 * them: `policy.istio.io/checkRetries` (an integer), `policy.istio.io/checkBaseRetryWaitTime` and
 * `policy.istio.io/checkMaxRetryWaitTime` (durations such as "100ms", "1.5s"). A value that does
 * not parse is left out, so the proxy's default applies (Istio logged it and sent the default);
 * so are both waits when the max would be below the base, which the proxy refuses.
 * Istio 1.1 also wrote its defaults (0, 80 ms, 1 s) when no key was set; they are the proxy's
 * defaults too, so they are not written.
 */
function checkRetries(proxy: Proxy): Msg {
  const meta = proxy.metadata;
  const out: Msg = {};
  const n = meta[POLICY_CHECK_RETRIES];
  if (typeof n === 'string' && /^\+?\d+$/.test(n.trim()) && Number(n) <= 0xffff_ffff) out['max_retry'] = Number(n);
  const wait = (key: string): number | null => (typeof meta[key] === 'string' ? parseDuration(meta[key]) : null);
  const base = wait(POLICY_CHECK_BASE_RETRY_WAIT);
  const max = wait(POLICY_CHECK_MAX_RETRY_WAIT);
  // the proxy refuses a max below the base (given or its 80 ms / 1 s defaults): then neither is sent
  if ((max ?? 1000) >= (base ?? 80)) {
    if (base !== null) out['base_retry_wait'] = dur(base);
    if (max !== null) out['max_retry_wait'] = dur(max);
  }
  return out;
}

/** The values of `policy.istio.io/check` Istio 1.1 Pilot acted on. */
export type PolicyCheckOverride = 'enable' | 'disable' | 'allow-on-error';

/**
 * The proxy's `policy.istio.io/check` node metadata, as Istio 1.1+ Pilot read it: exactly
 * `enable`, `disable` or `allow-on-error` (case and spaces count); any other value, or none, is
 * ignored and the mesh settings apply.
 */
export function policyCheckOverride(proxy: Pick<Proxy, 'metadata'>): PolicyCheckOverride | undefined {
  const v = proxy.metadata[POLICY_CHECK];
  return v === 'enable' || v === 'disable' || v === 'allow-on-error' ? v : undefined;
}

/**
 * `disable_check_calls` for one filter or ServiceConfig. `enable` and `allow-on-error` turn Check
 * on in either direction, over `disablePolicyChecks` and over the source side's default (off);
 * `disable` turns it off in both; otherwise `meshDefault` stands.
 */
function checksDisabled(proxy: Proxy, meshDefault: boolean): boolean {
  switch (policyCheckOverride(proxy)) {
    case 'disable':
      return true;
    case 'enable':
    case 'allow-on-error':
      return false;
    default:
      return meshDefault;
  }
}

/**
 * The transport's fail policy: `enable` → FAIL_CLOSE, `allow-on-error` and `disable` → FAIL_OPEN
 * (whatever `policyCheckFailOpen` says); otherwise FAIL_OPEN only when `policyCheckFailOpen`.
 */
function failPolicy(mesh: MeshSettings, proxy: Proxy): 'FAIL_OPEN' | 'FAIL_CLOSE' {
  switch (policyCheckOverride(proxy)) {
    case 'enable':
      return 'FAIL_CLOSE';
    case 'allow-on-error':
    case 'disable':
      return 'FAIL_OPEN';
    default:
      return mesh.policyCheckFailOpen ? 'FAIL_OPEN' : 'FAIL_CLOSE';
  }
}

function transport(mesh: MeshSettings, proxy: Proxy): Msg {
  return {
    check_cluster: mixerCluster(mesh.mixerCheckServer),
    report_cluster: mixerCluster(mesh.mixerReportServer),
    network_fail_policy: { policy: failPolicy(mesh, proxy), ...checkRetries(proxy) },
  };
}

/** The `mixer` HttpFilter for one listener (Envoy v3 object form). Pure. */
export function buildMixerFilter(
  proxy: Proxy,
  service: Service | undefined,
  mesh: MeshSettings,
  opts: MixerFilterOptions,
): Msg {
  const { attrs, forward } = proxyAttributes(proxy, opts);
  const serviceConfigs: Record<string, Msg> = {};
  let defaultService = '';
  if (service) {
    defaultService = service.hostname;
    serviceConfigs[service.hostname] = {
      // 1.0: policy is checked on the server side only (unless the node metadata says otherwise)
      disable_check_calls: checksDisabled(proxy, mesh.disablePolicyChecks || opts.direction === 'outbound'),
      mixer_attributes: { attributes: serviceAttributes(service) },
      ...(opts.quotaSpecs && opts.quotaSpecs.length > 0 && opts.direction === 'inbound'
        ? { quota_spec: opts.quotaSpecs.map((q) => ({ rules: q.rules })) }
        : {}),
    };
  } else {
    defaultService = 'default';
    serviceConfigs['default'] = { disable_check_calls: checksDisabled(proxy, true) };
  }
  return {
    name: MIXER_FILTER_NAME,
    typed_config: {
      '@type': MIXER_CONFIG_TYPE,
      transport: transport(mesh, proxy),
      mixer_attributes: { attributes: attrs },
      ...(forward ? { forward_attributes: forward } : {}),
      service_configs: serviceConfigs,
      default_destination_service: defaultService,
    },
  };
}

/**
 * The TCP `mixer` network filter for one filter chain, placed before tcp_proxy (Istio 1.0
 * buildInboundTCPFilter / buildOutboundTCPFilter): a TcpClientConfig with the proxy's attributes
 * for the direction plus the destination service's; policy checked inbound unless
 * `disablePolicyChecks`, never outbound (1.0 had no client-side checks), either way unless the
 * node metadata's `policy.istio.io/check` overrides it. Pure.
 */
export function buildTcpMixerFilter(
  proxy: Proxy,
  service: Service | undefined,
  mesh: MeshSettings,
  opts: MixerFilterOptions,
): Msg {
  const { attrs } = proxyAttributes(proxy, opts);
  return {
    name: MIXER_FILTER_NAME,
    typed_config: {
      '@type': MIXER_TCP_CONFIG_TYPE,
      transport: transport(mesh, proxy),
      mixer_attributes: { attributes: { ...attrs, ...(service ? serviceAttributes(service) : {}) } },
      disable_check_calls: checksDisabled(proxy, mesh.disablePolicyChecks || opts.direction === 'outbound'),
    },
  };
}

export interface BindingObject {
  namespace: string;
  spec: {
    services?: Array<{ name?: string; namespace?: string; service?: string }>;
    quotaSpecs?: Array<{ name?: string; namespace?: string }>;
  };
}
export interface QuotaSpecObject {
  name: string;
  namespace: string;
  spec: QuotaSpecMsg;
}

/** QuotaSpecs bound to `service` by QuotaSpecBindings (service refs default to the binding's namespace). */
export function quotaSpecsFor(
  service: Service,
  bindings: readonly BindingObject[],
  specs: readonly QuotaSpecObject[],
): QuotaSpecMsg[] {
  const out: QuotaSpecMsg[] = [];
  for (const b of bindings) {
    const bound = (b.spec.services ?? []).some(
      (s) =>
        s.service === service.hostname ||
        (s.name === service.name && (s.namespace ?? b.namespace) === service.namespace),
    );
    if (!bound) continue;
    for (const ref of b.spec.quotaSpecs ?? []) {
      const spec = specs.find((q) => q.name === ref.name && q.namespace === (ref.namespace ?? b.namespace));
      if (spec) out.push(spec.spec);
    }
  }
  return out;
}
