/** Mixer's settings: flags, env vars, --help and docs/config.md come from this list. */
import { defineConfig } from '@tsmesh/core';

export const mixerSettings = defineConfig('mixer', 'MIXER', {
  grpcAddress: {
    kind: 'string',
    default: '127.0.0.1:9091',
    description: 'istio.mixer.v1.Mixer gRPC listener (host:port; port 0 picks a free port).',
  },
  prometheusAddress: {
    kind: 'string',
    default: '127.0.0.1:42422',
    description: 'Listener of the prometheus adapter (`/metrics` with the istio_* series); empty disables it.',
  },
  monitoringAddress: {
    kind: 'string',
    default: '127.0.0.1:15014',
    description: "Self-monitoring listener: Mixer's own `/metrics`, `/ready`, `/debug/config`; empty disables it.",
  },
  mode: {
    kind: 'enum',
    values: ['policy', 'telemetry', 'both'],
    default: 'both',
    description: 'Which API this process serves: Check (policy), Report (telemetry) or both.',
  },
  configDir: {
    kind: 'string',
    default: '',
    description: 'Folder of config.istio.io YAML (rule, handlers, instances, attributemanifest), watched.',
  },
  kube: {
    kind: 'bool',
    default: false,
    description:
      'Also read config.istio.io/v1alpha2 CRDs (rules, handlers, instances, per-kind adapters and templates, attributemanifests, QuotaSpecs) from Kubernetes, watched (in-cluster or $KUBECONFIG).',
  },
  configPollInterval: {
    kind: 'duration',
    default: '1s',
    description: 'How often the config folder is re-read for changes.',
  },
  builtinConfig: {
    kind: 'bool',
    default: true,
    description:
      "Load Istio 1.0's default telemetry config (attribute manifests, standard metrics, access log) before --config-dir.",
  },
  builtinAccessLog: {
    kind: 'bool',
    default: true,
    description:
      "With --builtin-config: Istio 1.0's default access log (accesslog/tcpaccesslog logentry → stdio, one JSON line per request on stdout).",
  },
  configDefaultNamespace: {
    kind: 'string',
    default: 'istio-system',
    description:
      'Rules in this namespace apply to every request; rules elsewhere only to destinations in their namespace.',
  },
  defaultValidDuration: {
    kind: 'duration',
    default: '1m',
    description: 'Check result lifetime when no adapter says otherwise.',
  },
  defaultValidUseCount: {
    kind: 'int',
    default: 10000,
    description: 'Check result use count when no adapter says otherwise.',
  },
  redisUnavailable: {
    kind: 'enum',
    values: ['grant', 'deny'],
    default: 'grant',
    description:
      'redisquota when Redis cannot be reached: grant (fail open, as Istio 1.0 does when Redis is down at config load) or deny (0 granted, so 429, as Istio 1.0 does when Redis goes away later). Always counted.',
  },
  logLevel: { kind: 'string', default: 'info', description: 'Log level (trace, debug, info, warn, error).' },
});
