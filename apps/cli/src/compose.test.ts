// docker-compose.yml is generated from the manifests and committed; it must stay in step.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { COMPOSE_SUBNET, composeGatewayBootstrap, renderCompose } from './compose';
import { loadKustomization } from './manifests';
import { buildTopology } from './topology';

const ROOT = join(__dirname, '../../..');
const committed = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
const topology = buildTopology(loadKustomization(join(ROOT, 'k8s/overlays/demo')));
const launchEnv = (JSON.parse(readFileSync(join(ROOT, 'apps/proxy/launch.json'), 'utf8')) as { env: object }).env;

test('docker-compose.yml equals `tsmesh compose` (regenerate: node bin/tsmesh.js compose > docker-compose.yml)', () => {
  expect(committed).toEqual(parse(renderCompose(topology)));
});

test('one service per Deployment, each tsmesh workload paired with a proxy in its network namespace', () => {
  const services = committed.services as Record<string, { image: string; network_mode?: string; networks?: unknown }>;
  for (const pod of topology.pods) expect(services[pod.name]?.image).toBe(pod.container.image);
  for (const pod of topology.pods.filter((p) => !p.controlPlane && p.container.project && !p.container.standIn)) {
    expect(services[`${pod.name}-proxy`]).toMatchObject({
      image: 'tsmesh/proxy:latest',
      network_mode: `service:${pod.name}`,
    });
    expect(services[`${pod.name}-proxy`].networks).toBeUndefined();
    // started as shipped: the environment of apps/proxy/launch.json (MALLOC_ARENA_MAX)
    expect((services[`${pod.name}-proxy`] as unknown as { environment: object }).environment).toMatchObject(launchEnv);
  }
  expect((services['istio-ingressgateway'] as unknown as { ports: string[] }).ports).toEqual(['80:8080', '443:8443']);
});

test('the compose gateway bootstrap points ADS at Pilot by address and carries the gateway labels', () => {
  const boot = composeGatewayBootstrap(
    buildTopology(loadKustomization(join(ROOT, 'k8s/overlays/demo')), COMPOSE_SUBNET),
  );
  const parsed = JSON.parse(boot?.content ?? '{}');
  expect(boot?.name).toBe('istio-ingressgateway.json');
  expect(
    parsed.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address,
  ).toEqual({
    address: `${COMPOSE_SUBNET}.10`,
    port_value: 15010,
  });
  expect(JSON.parse(parsed.node.metadata.ISTIO_METAJSON_LABELS)).toMatchObject({ istio: 'ingressgateway' });
});
