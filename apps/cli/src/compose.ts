/**
 * docker-compose.yml generated from the same manifests: one service per
 * Deployment plus, for each workload, a `<name>-proxy` container sharing its
 * network namespace (`network_mode: service:<name>`), the way a sidecar shares
 * a pod's. Static addresses on one bridge network let the registry Pilot reads
 * (`tsmesh compose --registry DIR`) name every pod by IP. Every `tsmesh/<project>` image has a
 * `build` section (the repository's Dockerfile with `APP=<project>`), so `docker compose up` on a
 * fresh clone builds the images it has not got instead of trying to pull them.
 */
import { join } from 'node:path';
import { stringify } from 'yaml';
import { APP_PORT_OFFSET, PROXY_LISTEN_PORT, podName, routerBootstrap, sidecarLaunchEnv } from './plan';
import { findRoot } from './root';
import { servicesOf, type Topology } from './topology';

export const COMPOSE_SUBNET = '10.89.0';

/**
 * The app side of a sidecar pod (compose and `tsmesh kube-inject`): the app listens on loopback at
 * its container port + APP_PORT_OFFSET (the sidecar's inbound listener takes the container port)
 * and sends its outbound HTTP through the sidecar's capture listener, which Pilot gives an
 * http_proxy chain (HTTP_PROXY_PORT=15001).
 */
export function appSidecarEnv(containerPort: number, noProxy: string): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: String(containerPort + APP_PORT_OFFSET),
    HTTP_PROXY: `http://127.0.0.1:${PROXY_LISTEN_PORT}`,
    NO_PROXY: noProxy,
  };
}

export interface SidecarEnvOptions {
  /** apps/proxy/launch.json's env (process-level settings). */
  launchEnv: Record<string, string>;
  podName: string;
  namespace: string;
  instanceIp: string;
  /** Pilot's xDS gRPC address (host:port). */
  discoveryAddress: string;
  serviceCluster: string;
  labels: Record<string, string>;
  serviceAccount: string;
  adminAddress: string;
  /** The app's container port; the app itself runs at this + APP_PORT_OFFSET on loopback. */
  appPort: number;
}

/**
 * The sidecar's environment (apps/proxy's settings as PROXY_<NAME>, plus the downward-API names
 * it reads), shared by docker-compose.yml's `<name>-proxy` services and `tsmesh kube-inject`:
 * outbound capture on 15001, the inbound `<podIP>_<port>` listeners bound on the service ports,
 * forwarding to the moved app port.
 */
export function sidecarProxyEnv(o: SidecarEnvOptions): Record<string, string> {
  return {
    ...o.launchEnv,
    POD_NAME: o.podName,
    POD_NAMESPACE: o.namespace,
    INSTANCE_IP: o.instanceIp,
    PROXY_DISCOVERY_ADDRESS: o.discoveryAddress,
    PROXY_SERVICE_CLUSTER: o.serviceCluster,
    PROXY_LABELS: Object.entries(o.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    PROXY_SERVICE_ACCOUNT: o.serviceAccount,
    PROXY_ADMIN_ADDRESS: o.adminAddress,
    PROXY_OUTBOUND_ADDRESS: `127.0.0.1:${PROXY_LISTEN_PORT}`,
    PROXY_INBOUND_ADDRESS: '',
    PROXY_BIND_INBOUND_LISTENERS: 'true',
    PROXY_APP_ADDRESS: `127.0.0.1:${o.appPort + APP_PORT_OFFSET}`,
    PROXY_HTTP_PROXY_PORT: String(PROXY_LISTEN_PORT),
  };
}

/** How compose builds the image of one of our projects (Dockerfile at the repository root). */
export const composeBuild = (project: string) => ({ context: '.', args: { APP: project } });

/** The gateway's bootstrap for compose (Pilot at its static address). */
export function composeGatewayBootstrap(t: Topology): { name: string; content: string } | null {
  const gw = t.pods.find((p) => p.controlPlane && p.labels['istio'] === 'ingressgateway');
  const pilot = t.pods.find((p) => p.controlPlane && p.labels['app'] === 'pilot');
  if (!gw || !pilot) return null;
  return { name: `${gw.name}.json`, content: JSON.stringify(routerBootstrap(gw, `${pilot.ip}:15010`), null, 2) };
}

export function renderCompose(t: Topology): string {
  // the sidecar's start-time settings, as the proxy image is built from apps/proxy
  const launchEnv = sidecarLaunchEnv(join(findRoot(), 'apps/proxy'));
  const services: Record<string, Record<string, unknown>> = {};
  const pilot = 'istio-pilot';
  for (const pod of t.pods) {
    const ip = pod.ip.replace(/^\d+\.\d+\.\d+/, COMPOSE_SUBNET);
    const image = pod.container.image;
    const aliases = [
      ...new Set(servicesOf(t, pod).flatMap((s) => [s.name, `${s.name}.${s.namespace}.svc.cluster.local`])),
    ];
    const ours = pod.container.project && !pod.container.standIn ? pod.container.project : undefined;
    const base: Record<string, unknown> = {
      image,
      ...(ours ? { build: composeBuild(ours) } : {}),
      networks: { mesh: { ipv4_address: ip, ...(aliases.length ? { aliases } : {}) } },
    };
    if (pod.controlPlane) {
      const app = pod.labels['app'];
      const command: Record<string, string[]> = {
        pilot: ['--config-dir', '/etc/tsmesh/config', '--grpc-addr', '0.0.0.0:15010', '--http-addr', '0.0.0.0:15014'],
        citadel: ['--grpc-address', '0.0.0.0:8060', '--http-address', '0.0.0.0:15014', '--ca-dir', '/var/lib/citadel'],
        // node identity, Pilot and admin come from the bootstrap `tsmesh compose --registry` writes
        'istio-ingressgateway': [
          '--config-path',
          '/etc/tsmesh/bootstrap/istio-ingressgateway.json',
          '--port-map',
          '80=0.0.0.0:8080,443=0.0.0.0:8443',
        ],
        policy: ['--grpc-address', '0.0.0.0:9091', '--monitoring-address', '0.0.0.0:15014'],
        telemetry: [
          '--grpc-address',
          '0.0.0.0:9091',
          '--prometheus-address',
          '0.0.0.0:42422',
          '--monitoring-address',
          '0.0.0.0:15014',
        ],
      };
      services[pod.name] = {
        ...base,
        ...(pod.container.args.length || command[app]
          ? { command: [...(command[app] ?? []), ...pod.container.args] }
          : {}),
        ...(app === 'pilot' ? { volumes: ['./.tsmesh/compose-config:/etc/tsmesh/config'] } : {}),
        ...(app === 'istio-ingressgateway'
          ? { ports: ['80:8080', '443:8443'], volumes: ['./.tsmesh/compose-bootstrap:/etc/tsmesh/bootstrap'] }
          : {}),
      };
      continue;
    }
    const containerPort = pod.container.ports[0]?.containerPort ?? 8080;
    // Foreign images (postgres) run as themselves in compose; local stand-ins are for `tsmesh up` only.
    const foreign = !pod.container.project || pod.container.standIn;
    const env: Record<string, string> = { ...pod.container.env };
    if (foreign) {
      services[pod.name] = { ...base, environment: env };
      continue;
    }
    Object.assign(env, {
      ...appSidecarEnv(containerPort, 'localhost,postgres'),
      POD_NAME: podName(pod.name),
      POD_NAMESPACE: pod.namespace,
    });
    services[pod.name] = { ...base, environment: env, depends_on: [pilot] };
    services[`${pod.name}-proxy`] = {
      image: 'tsmesh/proxy:latest',
      build: composeBuild('proxy'),
      network_mode: `service:${pod.name}`,
      depends_on: [pod.name, pilot],
      // apps/proxy's settings as env (PROXY_<NAME>, plus the downward-API names it reads)
      environment: sidecarProxyEnv({
        launchEnv,
        podName: podName(pod.name),
        namespace: pod.namespace,
        instanceIp: ip,
        discoveryAddress: `${pilot}:15010`,
        serviceCluster: pod.labels['app'] ?? pod.name,
        labels: pod.labels,
        serviceAccount: pod.serviceAccount,
        adminAddress: '0.0.0.0:15000',
        appPort: containerPort,
      }),
    };
  }
  const doc = {
    name: 'tsmesh',
    services,
    networks: { mesh: { driver: 'bridge', ipam: { config: [{ subnet: `${COMPOSE_SUBNET}.0/24` }] } } },
  };
  return (
    '# Generated by `tsmesh compose` from k8s/overlays/demo (apps/cli/src/compose.ts); do not edit.\n' +
    '# Pilot reads its registry from ./.tsmesh/compose-config and the gateway its bootstrap from\n' +
    '# ./.tsmesh/compose-bootstrap; both are written by `tsmesh compose --registry .tsmesh/compose-config`.\n' +
    stringify(doc)
  );
}
