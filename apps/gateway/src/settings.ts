import { defineConfig } from '@tsmesh/core';
import { proxyAdminSettings, proxyIdentitySettings, proxyLogSettings, proxyRuntimeSettings } from '@tsmesh/dataplane';

/** Ingress/egress gateway flags (env `GATEWAY_<NAME>`): the proxy engine with a router node. */
export const gatewayConfig = defineConfig('gateway', 'GATEWAY', {
  configPath: {
    kind: 'string',
    default: '',
    description:
      'Envoy v3 Bootstrap (YAML or JSON). When set, node, admin, static resources, ADS and tracing come from it.',
  },
  discoveryAddress: { kind: 'string', default: '127.0.0.1:15010', description: "Pilot's gRPC xDS address." },
  serviceNode: {
    kind: 'string',
    default: '',
    description:
      'Full node id (router~<ip>~<pod>.<ns>~<ns>.svc.cluster.local); built from --ip, --pod-name and --namespace when empty.',
  },
  serviceCluster: {
    kind: 'string',
    default: 'istio-ingressgateway',
    description: 'node.cluster: the gateway service cluster.',
  },
  ip: {
    kind: 'string',
    default: '127.0.0.1',
    env: 'INSTANCE_IP',
    description: 'Instance IP (node id and INSTANCE_IPS metadata).',
  },
  podName: {
    kind: 'string',
    default: 'istio-ingressgateway',
    env: 'POD_NAME',
    description: 'Pod name (node id metadata).',
  },
  namespace: {
    kind: 'string',
    default: 'istio-system',
    env: 'POD_NAMESPACE',
    description: 'Namespace (node id and NAMESPACE metadata).',
  },
  labels: {
    kind: 'list',
    default: 'istio=ingressgateway,app=istio-ingressgateway',
    description:
      'Gateway workload labels; Gateway resources select gateways by these (selector istio: ingressgateway).',
  },
  ...proxyAdminSettings,
  portMap: {
    kind: 'list',
    default: '80=127.0.0.1:8080,443=127.0.0.1:8443',
    description: 'Gateway listener port → local bind address (Gateway servers on 80/443 serve locally on 8080/8443).',
  },
  ...proxyRuntimeSettings,
  ...proxyIdentitySettings,
  serviceAccount: {
    kind: 'string',
    default: 'istio-ingressgateway-service-account',
    description: 'Service account (SERVICE_ACCOUNT metadata).',
  },
  ...proxyLogSettings,
});
