/**
 * What `apps/proxy` and `apps/gateway` share: settings → bootstrap (a `--config-path` file, or one
 * generated from flags as Istio's agent does) → a running ProxyRuntime.
 */
import { systemClock, systemRandom, type Logger } from '@tsmesh/core';
import type { FilterRegistry } from '../filters/types';
import { identitySettingsSpec, startIdentity, type IdentitySettings } from '../tls/identity/from-settings';
import { proxyErrors } from './bootstrap-errors';
import { generateBootstrap } from './generate';
import { extractBootstrap, loadBootstrapFile, type BootstrapInfo } from './load';
import type { LocalBindings } from './local-rewrite';
import { ProxyRuntime } from './proxy-runtime';

/**
 * The workload-identity settings (Citadel CSR flow or Istio 1.0 `/etc/certs`) both apps spread
 * into their `defineConfig` spec.
 */
export const proxyIdentitySettings = identitySettingsSpec;

/** The admin, Prometheus and health listeners both apps serve (Envoy's 15000, Istio's 15090 and 15021). */
export const proxyAdminSettings = {
  adminAddress: {
    kind: 'string',
    default: '127.0.0.1:15000',
    description: 'Envoy admin API address (loopback by default; empty disables).',
  },
  prometheusAddress: {
    kind: 'string',
    default: '127.0.0.1:15090',
    description: 'Address serving /stats/prometheus (empty disables).',
  },
  healthAddress: {
    kind: 'string',
    default: '127.0.0.1:15021',
    description: 'Address serving /healthz/ready (empty disables).',
  },
} as const;

/** Tracing, access log, drain window and log level, the same for sidecar and gateway. */
export const proxyRuntimeSettings = {
  zipkinAddress: {
    kind: 'string',
    default: '',
    description: 'Zipkin/Jaeger collector host:port; enables tracing in the generated bootstrap.',
  },
  traceSampling: {
    kind: 'number',
    default: 1,
    description:
      "Percent of requests without a sampling decision that are traced (Istio's default profile: 1; its demo profile: 100).",
  },
  accessLogFile: {
    kind: 'string',
    default: '/dev/stdout',
    description: "Mesh default access log for HCMs without access_log (Istio's accessLogFile); empty disables.",
  },
  accessLogEncoding: {
    kind: 'enum',
    values: ['TEXT', 'JSON'],
    default: 'TEXT',
    description: "Access log encoding (Istio's accessLogEncoding).",
  },
  drainDuration: {
    kind: 'duration',
    default: '5s',
    description:
      'Drain window: on SIGTERM, and for connections accepted under a filter chain that a push changed, how long in-flight requests may finish before connections are closed.',
  },
} as const;

/** Log level, last in both apps' flag lists. */
export const proxyLogSettings = {
  logLevel: {
    kind: 'enum',
    values: ['trace', 'debug', 'info', 'warn', 'error'],
    default: 'info',
    description: 'Log level.',
  },
} as const;

export interface ProxyProcessSettings extends Partial<IdentitySettings> {
  configPath: string;
  discoveryAddress: string;
  serviceNode: string;
  serviceCluster: string;
  ip: string;
  podName: string;
  namespace: string;
  labels: string[];
  adminAddress: string;
  prometheusAddress: string;
  healthAddress: string;
  outboundAddress?: string;
  inboundAddress?: string;
  appAddress?: string;
  appPort?: number;
  httpProxyPort?: number;
  bindInboundListeners?: boolean;
  /** `80=127.0.0.1:8080` entries (gateway). */
  portMap?: string[];
  zipkinAddress: string;
  traceSampling: number;
  accessLogFile: string;
  accessLogEncoding: string;
  drainDuration: number;
}

const ADDRESS = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/;

function address(value: string | undefined, setting: string): string | undefined {
  if (!value) return undefined;
  if (!ADDRESS.test(value) || Number(value.split(':').pop()) > 65535) {
    throw proxyErrors.error('PROXY_ERR_BAD_ADDRESS', { value, setting });
  }
  return value;
}

export function parseLabels(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i > 0) out[item.slice(0, i).trim()] = item.slice(i + 1).trim();
  }
  return out;
}

export function parsePortMap(list: readonly string[] | undefined): Map<number, string> {
  const out = new Map<number, string>();
  for (const item of list ?? []) {
    const m = /^(\d{1,5})=(.+)$/.exec(item.trim());
    if (!m) throw proxyErrors.error('PROXY_ERR_BAD_ADDRESS', { value: item, setting: '--port-map' });
    out.set(Number(m[1]), address(m[2], '--port-map') as string);
  }
  return out;
}

/**
 * Node metadata from the environment, as Istio 1.0/1.1's agent (pilot-agent `getNodeMetaData`)
 * built it, plus one tsmesh form:
 * - `ISTIO_META_<KEY>=v` becomes `<KEY>: "v"`.
 * - `ISTIO_METAJSON_<KEY>={…}` (what the injector sets: `ISTIO_METAJSON_ANNOTATIONS` and
 *   `ISTIO_METAJSON_LABELS`, the pod's annotations and labels) has its string entries merged into
 *   the top level, as Istio did: an `app` label or a `policy.istio.io/check` annotation becomes a
 *   node metadata key of its own, which is where Pilot reads them. Non-string entries are left out
 *   (Istio's map held strings only), and so is JSON that is not an object.
 * - tsmesh also keeps the whole parsed value under `<KEY>` (`LABELS: {…}`), the form its label
 *   readers use.
 *
 * Precedence, lowest first: `ISTIO_META_*`, then the merged entries (Istio applied the JSON
 * variables after the plain ones), variables taken by name (`…_ANNOTATIONS` before `…_LABELS`, so
 * a label wins over an annotation of the same key, as in Istio's injection template order), then
 * the keyed `<KEY>` forms. Invalid JSON is refused (Istio logged a warning and went on).
 */
export function istioMetaFromEnv(env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  const merged: Record<string, unknown> = {};
  const keyed: Record<string, unknown> = {};
  const names = Object.keys(env)
    .filter((k) => env[k] !== undefined)
    .sort();
  for (const k of names) {
    const v = env[k] as string;
    if (k.startsWith('ISTIO_METAJSON_')) {
      let value: unknown;
      try {
        value = JSON.parse(v);
      } catch {
        throw proxyErrors.error('PROXY_ERR_BAD_METADATA', { variable: k, why: 'not valid JSON' });
      }
      keyed[k.slice('ISTIO_METAJSON_'.length)] = value;
      if (value && typeof value === 'object' && !Array.isArray(value))
        for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') merged[key] = entry;
    } else if (k.startsWith('ISTIO_META_')) plain[k.slice('ISTIO_META_'.length)] = v;
  }
  return { ...plain, ...merged, ...keyed };
}

export function bootstrapFromSettings(
  nodeType: 'sidecar' | 'router',
  s: ProxyProcessSettings,
  env: Readonly<Record<string, string | undefined>> = process.env,
): BootstrapInfo {
  if (s.configPath) return loadBootstrapFile(s.configPath);
  const raw = generateBootstrap({
    nodeType,
    serviceNode: s.serviceNode || undefined,
    ip: s.ip,
    podName: s.podName || undefined,
    namespace: s.namespace,
    serviceCluster: s.serviceCluster,
    labels: parseLabels(s.labels),
    serviceAccount: s.serviceAccount || undefined,
    discoveryAddress: address(s.discoveryAddress, '--discovery-address') ?? '',
    adminAddress: address(s.adminAddress, '--admin-address') ?? '127.0.0.1:0',
    zipkinAddress: address(s.zipkinAddress, '--zipkin-address'),
    httpProxyPort: s.httpProxyPort || undefined,
    extraMetadata: istioMetaFromEnv(env),
  });
  return extractBootstrap(raw, '<generated>');
}

export async function startProxyProcess(
  nodeType: 'sidecar' | 'router',
  s: ProxyProcessSettings,
  logger: Logger,
  registerFilters: (r: FilterRegistry) => void,
): Promise<ProxyRuntime> {
  const bootstrap = bootstrapFromSettings(nodeType, s);
  const appAddress = address(s.appAddress, '--app-address') ?? (s.appPort ? `127.0.0.1:${s.appPort}` : undefined);
  const bindings: LocalBindings = {
    outboundAddress: address(s.outboundAddress, '--outbound-address'),
    inboundAddress: address(s.inboundAddress, '--inbound-address'),
    appAddress,
    portMap: parsePortMap(s.portMap),
    bindInboundListeners: s.bindInboundListeners === true,
  };
  const namespace = String(bootstrap.node.metadata?.['NAMESPACE'] ?? '') || s.namespace || 'default';
  const identity = startIdentity(
    {
      citadelAddress: s.citadelAddress ?? '',
      citadelToken: s.citadelToken ?? '',
      citadelTokenFile: s.citadelTokenFile ?? '',
      citadelRootCert: s.citadelRootCert ?? '',
      serviceAccount: s.serviceAccount ?? 'default',
      trustDomain: s.trustDomain ?? 'cluster.local',
      workloadCertTtl: s.workloadCertTtl ?? 0,
      certsDir: s.certsDir ?? '',
    },
    { namespace, clock: systemClock, random: systemRandom, logger },
  );
  return ProxyRuntime.start({
    bootstrap,
    identity,
    nodeType,
    bindings,
    adminAddress: s.configPath
      ? (bootstrap.adminAddress ?? address(s.adminAddress, '--admin-address'))
      : address(s.adminAddress, '--admin-address'),
    prometheusAddress: address(s.prometheusAddress, '--prometheus-address'),
    healthAddress: address(s.healthAddress, '--health-address'),
    drainMs: s.drainDuration,
    samplingPercent: s.traceSampling,
    defaultAccessLog: s.accessLogFile
      ? { path: s.accessLogFile, encoding: s.accessLogEncoding === 'JSON' ? 'JSON' : 'TEXT' }
      : undefined,
    registerFilters,
    logger,
    onQuit: () => process.kill(process.pid, 'SIGTERM'),
    commandLine: { ...s },
  });
}
