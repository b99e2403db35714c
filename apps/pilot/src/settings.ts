/** Pilot's settings: flags, env vars, `--help` and docs/config.md come from this list. */
import { defineConfig } from '@tsmesh/core';

export const pilotConfig = defineConfig('pilot', 'PILOT', {
  configDir: {
    kind: 'string',
    description:
      'Folder registry: a directory of YAML (Istio config and Kubernetes Service/Endpoints/Pod objects), watched for changes.',
  },
  kube: {
    kind: 'bool',
    default: false,
    description:
      'Kubernetes registry: watch Services, Endpoints, Pods, Namespaces and Istio CRDs (in-cluster or $KUBECONFIG).',
  },
  meshConfig: {
    kind: 'string',
    description: 'Istio MeshConfig YAML file (outboundTrafficPolicy, trustDomain, mixer addresses, ...).',
  },
  grpcAddr: {
    kind: 'string',
    default: '0.0.0.0:15010',
    description: 'xDS gRPC listen address (ADS and per-type services).',
  },
  httpAddr: {
    kind: 'string',
    default: '0.0.0.0:15014',
    description: 'HTTP listen address for /ready, /metrics and /debug/*.',
  },
  debounceAfter: {
    kind: 'duration',
    default: '100ms',
    env: 'PILOT_DEBOUNCE_AFTER',
    description: 'Quiet period after a config change before a push (Istio PILOT_DEBOUNCE_AFTER).',
  },
  debounceMax: {
    kind: 'duration',
    default: '10s',
    env: 'PILOT_DEBOUNCE_MAX',
    description: 'Longest a push waits while changes keep coming (Istio PILOT_DEBOUNCE_MAX).',
  },
  jwtPubKeyRefreshInterval: {
    kind: 'duration',
    default: '20m',
    env: 'PILOT_JWT_PUB_KEY_REFRESH_INTERVAL',
    description:
      'How often Pilot re-fetches the JWKS of each jwksUri it inlines (Istio PILOT_JWT_PUB_KEY_REFRESH_INTERVAL).',
  },
  maxRequestBytes: {
    kind: 'int',
    default: 4194304,
    description: 'Largest DiscoveryRequest accepted on a stream; bigger messages close the stream.',
  },
  domainSuffix: { kind: 'string', default: 'cluster.local', description: 'Kubernetes cluster domain suffix.' },
  logLevel: { kind: 'enum', default: 'info', values: ['debug', 'info', 'warn', 'error'], description: 'Log level.' },
});
