import { defineConfig } from '@tsmesh/core';
import { proxyAdminSettings, proxyIdentitySettings, proxyLogSettings, proxyRuntimeSettings } from '@tsmesh/dataplane';

/** Sidecar flags; env vars are `PROXY_<NAME>` except the Kubernetes downward-API ones Istio reads. */
export const proxyConfig = defineConfig('proxy', 'PROXY', {
  configPath: {
    kind: 'string',
    default: '',
    description:
      'Envoy v3 Bootstrap (YAML or JSON). When set, node, admin, static resources, ADS and tracing come from it.',
  },
  discoveryAddress: {
    kind: 'string',
    default: '127.0.0.1:15010',
    description: "Pilot's gRPC xDS address (the generated bootstrap's xds-grpc cluster).",
  },
  serviceNode: {
    kind: 'string',
    default: '',
    description:
      'Full node id (sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local); built from --ip, --pod-name and --namespace when empty.',
  },
  serviceCluster: {
    kind: 'string',
    default: 'istio-proxy',
    description: 'node.cluster: the service cluster (the app label in Istio).',
  },
  ip: {
    kind: 'string',
    default: '127.0.0.1',
    env: 'INSTANCE_IP',
    description: 'Instance IP (node id and INSTANCE_IPS metadata).',
  },
  podName: {
    kind: 'string',
    default: '',
    env: 'POD_NAME',
    description: 'Pod name (node id and POD_NAME metadata); defaults to the service cluster.',
  },
  namespace: {
    kind: 'string',
    default: 'default',
    env: 'POD_NAMESPACE',
    description: 'Namespace (node id and NAMESPACE metadata).',
  },
  labels: {
    kind: 'list',
    default: '',
    description: 'Workload labels as key=value,key=value (LABELS metadata; used for subsets and sourceLabels).',
  },
  ...proxyAdminSettings,
  outboundAddress: {
    kind: 'string',
    default: '127.0.0.1:15001',
    description: 'Where the outbound capture listener (virtual / virtualOutbound) binds locally.',
  },
  inboundAddress: {
    kind: 'string',
    default: '127.0.0.1:15006',
    description:
      'Where inbound traffic arrives locally: virtualInbound, or the single inbound <podIP>_<port> listener (empty disables).',
  },
  bindInboundListeners: {
    kind: 'bool',
    default: false,
    description:
      'Local mode with one loopback IP per pod: bind inbound <podIP>_<port> listeners at their own address (where peers send traffic).',
  },
  appAddress: {
    kind: 'string',
    default: '',
    description: 'Where the local app listens (host:port); inbound|… clusters forward there.',
  },
  appPort: { kind: 'int', default: 0, description: 'Shorthand for --app-address 127.0.0.1:<port>.' },
  httpProxyPort: {
    kind: 'int',
    default: 0,
    description: 'Explicit HTTP proxy port for the app (HTTP_PROXY_PORT metadata; Pilot adds 127.0.0.1_<port>).',
  },
  portMap: {
    kind: 'list',
    default: '',
    description:
      'Local mode without iptables: listener port → local bind address (443=127.0.0.1:15443 binds the outbound 0.0.0.0_443 listener there for the app to connect to).',
  },
  ...proxyRuntimeSettings,
  ...proxyIdentitySettings,
  ...proxyLogSettings,
});
