// Process planning, by simulation: which processes run, on which addresses, with which env.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Component } from './components';
import { loadKustomization } from './manifests';
import { APP_PORT_OFFSET, buildPlan, type PlanOptions } from './plan';
import { registryObjects } from './registry';
import { buildTopology } from './topology';

const topology = buildTopology(loadKustomization(join(__dirname, '../../../k8s/overlays/demo')), '127.0.50');
const component = (project: string, available: boolean, flags: string[] = []): Component => ({
  project,
  main: `/dist/${project}/main.js`,
  available,
  reason: available ? undefined : `${project} is not built`,
  flags: new Set(flags),
});
const demos = [...new Set(topology.pods.map((p) => p.container.project).filter((p): p is string => !!p))];
const options: PlanOptions = {
  gatewayAddress: '127.0.0.1:8080',
  configDir: '/s/config',
  mixerConfigDir: '/s/mixer',
  tokensFile: '/s/tokens',
  citadelDir: '/s/citadel',
  without: new Set(),
  dataDir: '/s/data',
};

function components(mesh: boolean) {
  const m = new Map<string, Component>();
  for (const d of demos) m.set(d, component(d, true));
  m.set('pilot', component('pilot', mesh, ['--config-dir', '--grpc-addr', '--http-addr']));
  const proxyFlags = [
    '--discovery-address',
    '--service-node',
    '--ip',
    '--labels',
    '--admin-address',
    '--health-address',
  ];
  m.set(
    'proxy',
    component('proxy', mesh, [
      ...proxyFlags,
      '--outbound-address',
      '--inbound-address',
      '--app-address',
      '--http-proxy-port',
    ]),
  );
  m.set('gateway', component('gateway', mesh, [...proxyFlags, '--port-map']));
  m.set('mixer', component('mixer', false));
  m.set('citadel', component('citadel', false));
  return m;
}

test('without pilot/proxy: apps bind their service port and call peers directly; what is missing is said', () => {
  const plan = buildPlan(topology, components(false), options);
  expect(plan.mesh).toEqual({ pilot: false, sidecars: false, gateway: false, mixer: false, citadel: false });
  expect(plan.processes.every((p) => p.role === 'app')).toBe(true);
  expect(plan.missing).toEqual(expect.arrayContaining(['pilot: pilot is not built']));
  const page = plan.processes.find((p) => p.name === 'productpage-v1');
  expect(page?.args).toEqual(['--host', page?.ip, '--port', '9080']);
  const reviewsV1 = topology.pods.find((p) => p.name === 'reviews-v1');
  expect(page?.env['REVIEWS_URL']).toBe(`http://${reviewsV1?.ip}:9080`);
  expect(page?.env['HTTP_PROXY']).toBeUndefined();
  const shipping = plan.processes.find((p) => p.name === 'shipping');
  const order = topology.pods.find((p) => p.name === 'order');
  expect(shipping?.env['ORDER_URL']).toBe(`http://${order?.ip}:8080`);
  // One database for the shop: the postgres pod runs as the PGlite stand-in, first, on its own address.
  const postgres = plan.processes.find((p) => p.name === 'postgres');
  expect(postgres).toMatchObject({ startFirst: true, main: '/dist/shop-postgres/main.js' });
  expect(postgres?.args).toEqual(['--host', postgres?.ip, '--port', '5432']);
  expect(shipping?.env['DATABASE_URL']).toBe(`postgres://postgres@${postgres?.ip}:5432/postgres`);
  expect(plan.links.find((l) => l.label.startsWith('bookinfo'))?.url).toBe(`http://${page?.ip}:9080/productpage`);
});

test('with pilot, proxy and gateway: sidecar owns the service port, app moves, HTTP_PROXY points at the sidecar', () => {
  const plan = buildPlan(topology, components(true), { ...options, databaseUrl: 'postgres://db/x' });
  expect(plan.mesh).toMatchObject({ pilot: true, sidecars: true, gateway: true });
  const app = plan.processes.find((p) => p.name === 'reviews-v2');
  const sidecar = plan.processes.find((p) => p.name === 'reviews-v2.sidecar');
  expect(app?.args).toEqual(['--host', app?.ip, '--port', String(9080 + APP_PORT_OFFSET)]);
  expect(app?.env).toMatchObject({ HTTP_PROXY: `http://${app?.ip}:15001`, VERSION: 'v2' });
  expect(sidecar?.args).toEqual(
    expect.arrayContaining([
      '--outbound-address',
      `${app?.ip}:15001`,
      '--http-proxy-port',
      '15001',
      '--inbound-address',
      `${app?.ip}:9080`,
      '--app-address',
      `${app?.ip}:29080`,
    ]),
  );
  expect(sidecar?.args).toEqual(expect.arrayContaining(['--labels', 'app=reviews,version=v2', '--ip', app?.ip]));
  expect(sidecar?.readyUrl).toBe(`http://${app?.ip}:15021/healthz/ready`);
  expect(app?.env['RATINGS_URL']).toBeUndefined();
  expect(sidecar?.env).toMatchObject({
    INSTANCE_IP: app?.ip,
    TSMESH_APP_ADDRESS: `${app?.ip}:29080`,
    TSMESH_INBOUND_PORTS: '9080',
    SERVICE_ACCOUNT: 'bookinfo-reviews',
  });
  expect(sidecar?.args).toEqual(
    expect.arrayContaining([
      '--service-node',
      expect.stringMatching(/^sidecar~127\.0\.50\.\d+~reviews-v2-[0-9a-f]{5}\.default~default\.svc\.cluster\.local$/),
    ]),
  );
  expect(plan.tokens.some((t) => t.endsWith(' default/bookinfo-reviews'))).toBe(true);
  expect(plan.processes.find((p) => p.name === 'order')?.env['DATABASE_URL']).toBe('postgres://db/x');
  // With a real PostgreSQL the stand-in does not run.
  expect(plan.processes.find((p) => p.name === 'postgres')).toBeUndefined();
  expect(plan.notes).toContain('postgres: not run; the shop uses DATABASE_URL');
  const pilot = plan.processes.find((p) => p.name === 'istio-pilot');
  expect(pilot?.args).toEqual([
    '--config-dir',
    '/s/config',
    '--grpc-addr',
    `${pilot?.ip}:15010`,
    '--http-addr',
    `${pilot?.ip}:15014`,
  ]);
  expect(plan.processes.find((p) => p.role === 'gateway')?.args).toEqual(
    expect.arrayContaining([
      '--port-map',
      '80=127.0.0.1:8080,443=127.0.0.1:8443',
      '--labels',
      'app=istio-ingressgateway,version=v1,istio=ingressgateway',
    ]),
  );
  expect(plan.links.map((l) => l.url)).toEqual(
    expect.arrayContaining(['http://127.0.0.1:8080/productpage', 'http://127.0.0.1:8080/book/1']),
  );
});

test('--without leaves a built component out; an applied Deployment overrides env (not DATABASE_URL)', () => {
  const plan = buildPlan(topology, components(true), {
    ...options,
    without: new Set(['proxy']),
    workloadEnv: new Map([['default/order', { FAILRANDOMLY: 'true', DATABASE_URL: 'postgres://elsewhere' }]]),
  });
  expect(plan.mesh.sidecars).toBe(false);
  expect(plan.missing).toContain('proxy: left out (--without)');
  const order = plan.processes.find((p) => p.name === 'order');
  expect(order?.env['FAILRANDOMLY']).toBe('true');
  expect(order?.env['DATABASE_URL']).toMatch(/^postgres:\/\/postgres@127\.0\.50\.\d+:5432\/postgres$/);
});

test('with sidecars the postgres stand-in gets none and keeps its port; data under the state dir', () => {
  const plan = buildPlan(topology, components(true), options);
  const c = components(true);
  c.set('shop-postgres', component('shop-postgres', true, ['--host', '--port', '--data-dir']));
  const withData = buildPlan(topology, c, options);
  expect(plan.processes.find((p) => p.name === 'postgres.sidecar')).toBeUndefined();
  const pg = withData.processes.find((p) => p.name === 'postgres');
  expect(pg?.args).toEqual(['--host', pg?.ip, '--port', '5432', '--data-dir', '/s/data/postgres']);
  expect(pg?.env['HTTP_PROXY']).toBeUndefined();
  expect(pg?.readyUrl).toBeUndefined();
  expect(plan.processes.find((p) => p.name === 'order')?.env['DATABASE_URL']).toBe(
    `postgres://postgres@${pg?.ip}:5432/postgres`,
  );
});

test('without the stand-in built, each shop service embeds its own PGlite and the plan says so', () => {
  const c = components(false);
  c.set('shop-postgres', component('shop-postgres', false));
  const plan = buildPlan(topology, c, options);
  expect(plan.processes.find((p) => p.name === 'order')?.env['DATABASE_URL']).toBeUndefined();
  expect(plan.missing).toContain('postgres: shop-postgres is not built');
  expect(plan.notes.some((n) => n.includes('each shop service embeds its own PGlite'))).toBe(true);
});

test('registry: Services, Endpoints of running pods, Pods with IP, labels and service account', () => {
  const plan = buildPlan(topology, components(false), options);
  const objs = registryObjects(topology, plan.pods) as {
    kind: string;
    metadata: { name: string };
    subsets?: { addresses: { ip: string }[] }[];
  }[];
  const reviews = objs.find((o) => o.kind === 'Endpoints' && o.metadata.name === 'reviews');
  expect(reviews?.subsets?.[0].addresses).toHaveLength(3);
  const postgres = objs.find((o) => o.kind === 'Endpoints' && o.metadata.name === 'postgres');
  expect(postgres?.subsets?.[0].addresses.map((a) => a.ip)).toEqual([
    topology.pods.find((p) => p.name === 'postgres')?.ip,
  ]);
  const pod = objs.find((o) => o.kind === 'Pod' && o.metadata.name.startsWith('reviews-v3-')) as unknown as {
    metadata: { labels: Record<string, string> };
    spec: { serviceAccountName: string };
    status: { podIP: string };
  };
  expect(pod.metadata.labels).toEqual({ app: 'reviews', version: 'v3' });
  expect(pod.spec.serviceAccountName).toBe('bookinfo-reviews');
  expect(pod.status.podIP).toBe(topology.pods.find((p) => p.name === 'reviews-v3')?.ip);
});

test('the gateway starts from flags (node identity, labels, Pilot), not from a generated bootstrap, even when it takes --config-path', () => {
  const m = components(true);
  m.set('gateway', component('gateway', true, ['--config-path', '--discovery-address', '--labels', '--port-map']));
  const plan = buildPlan(topology, m, options);
  const gw = plan.processes.find((p) => p.role === 'gateway');
  const pilot = plan.processes.find((p) => p.name === 'istio-pilot');
  expect(gw?.args).toEqual([
    '--discovery-address',
    `${pilot?.ip}:15010`,
    '--labels',
    'app=istio-ingressgateway,version=v1,istio=ingressgateway',
    '--port-map',
    '80=127.0.0.1:8080,443=127.0.0.1:8443',
  ]);
  expect(plan.files).toEqual([]);
});

test('with Mixer: Pilot gets a generated mesh config naming istio-policy/istio-telemetry (fail-closed); the summary shows the istio_* metrics', () => {
  const c = components(true);
  c.set('pilot', component('pilot', true, ['--config-dir', '--grpc-addr', '--http-addr', '--mesh-config']));
  c.set('mixer', component('mixer', true, ['--grpc-address', '--prometheus-address', '--config-dir', '--mode']));
  const plan = buildPlan(topology, c, { ...options, meshConfigPath: '/s/mesh.yaml' });
  const pilot = plan.processes.find((p) => p.name === 'istio-pilot');
  expect(pilot?.args.join(' ')).toContain('--mesh-config /s/mesh.yaml');
  const file = plan.files.find((f) => f.path === '/s/mesh.yaml');
  expect(parse(file?.content ?? '')).toEqual({
    mixerCheckServer: 'istio-policy.istio-system.svc.cluster.local:9091',
    mixerReportServer: 'istio-telemetry.istio-system.svc.cluster.local:9091',
    disablePolicyChecks: false,
    policyCheckFailOpen: false,
  });
  // the registry's Endpoints for those Services point at the local Mixer processes
  const policy = plan.processes.find((p) => p.name === 'istio-policy');
  expect(policy?.args.join(' ')).toContain(`--grpc-address ${policy?.ip}:9091`);
  const eps = registryObjects(topology, plan.pods).find(
    (o) => o['kind'] === 'Endpoints' && (o['metadata'] as { name: string }).name === 'istio-policy',
  ) as { subsets: { addresses: { ip: string }[]; ports: { port: number }[] }[] };
  expect(eps.subsets[0].addresses.map((a) => a.ip)).toEqual([policy?.ip]);
  expect(eps.subsets[0].ports.map((p) => p.port)).toContain(9091);
  const telemetry = plan.processes.find((p) => p.name === 'istio-telemetry');
  expect(plan.admin.slice(0, 8)).toContainEqual({
    label: 'mixer metrics (istio_*)',
    url: `http://${telemetry?.ip}:42422/metrics`,
  });
});

test('without Mixer no mesh config is written and Pilot keeps its defaults', () => {
  const c = components(true);
  c.set('pilot', component('pilot', true, ['--config-dir', '--grpc-addr', '--http-addr', '--mesh-config']));
  const plan = buildPlan(topology, c, { ...options, meshConfigPath: '/s/mesh.yaml' });
  expect(plan.files.some((f) => f.path === '/s/mesh.yaml')).toBe(false);
  expect(plan.processes.find((p) => p.name === 'istio-pilot')?.args).not.toContain('--mesh-config');
});

test('Mixer starts with the node flags of its launch.json (the one beside its main.js), before main.js', () => {
  const mixerDir = join(__dirname, '../../mixer');
  const launch = JSON.parse(readFileSync(join(mixerDir, 'launch.json'), 'utf8')) as { nodeArgs: string[] };
  expect(launch.nodeArgs).toContain('--no-memory-reducer');
  const c = components(true);
  c.set('mixer', { ...component('mixer', true, ['--grpc-address', '--mode']), main: join(mixerDir, 'main.js') });
  const plan = buildPlan(topology, c, options);
  const mixers = plan.processes.filter((p) => p.name === 'istio-policy' || p.name === 'istio-telemetry');
  expect(mixers).toHaveLength(2);
  for (const m of mixers) expect(m.nodeArgs).toEqual(launch.nodeArgs);
  // nothing else gets node flags
  for (const p of plan.processes.filter((p) => !mixers.includes(p))) expect(p.nodeArgs ?? []).toEqual([]);
  // no launch.json beside main.js (/dist/mixer): none
  c.set('mixer', component('mixer', true, ['--grpc-address', '--mode']));
  const bare = buildPlan(topology, c, options).processes.find((p) => p.name === 'istio-telemetry');
  expect(bare?.nodeArgs).toEqual([]);
});

test("sidecars start with the environment of the proxy's launch.json (the one beside its main.js)", () => {
  const proxyDir = join(__dirname, '../../proxy');
  const launch = JSON.parse(readFileSync(join(proxyDir, 'launch.json'), 'utf8')) as { env: Record<string, string> };
  expect(Object.keys(launch.env)).toContain('MALLOC_ARENA_MAX');
  const c = components(true);
  c.set('proxy', { ...(c.get('proxy') as Component), main: join(proxyDir, 'main.js') });
  const plan = buildPlan(topology, c, options);
  const sidecars = plan.processes.filter((p) => p.role === 'sidecar');
  expect(sidecars.length).toBeGreaterThan(0);
  for (const s of sidecars) expect(s.env).toMatchObject(launch.env);
  // apps and the gateway start without them
  for (const p of plan.processes.filter((p) => p.role !== 'sidecar')) expect(p.env['MALLOC_ARENA_MAX']).toBeUndefined();
  // no launch.json beside main.js (the other tests' /dist/proxy): nothing added
  const bare = buildPlan(topology, components(true), options).processes.find((p) => p.role === 'sidecar');
  expect(bare?.env['MALLOC_ARENA_MAX']).toBeUndefined();
});

test('--zipkin-address reaches every proxy that lists the flag (sidecars and gateway), and no app', () => {
  const m = components(true);
  const traced = (c: Component): Component => ({ ...c, flags: new Set([...c.flags, '--zipkin-address']) });
  m.set('proxy', traced(m.get('proxy') as Component));
  m.set('gateway', traced(m.get('gateway') as Component));
  const plan = buildPlan(topology, m, { ...options, zipkinAddress: '127.0.0.1:9411' });
  const proxies = plan.processes.filter((p) => p.role === 'sidecar' || p.role === 'gateway');
  expect(proxies.length).toBeGreaterThan(5);
  for (const p of proxies) expect(p.args.join(' ')).toContain('--zipkin-address 127.0.0.1:9411');
  expect(plan.processes.filter((p) => p.role === 'app' && p.args.includes('--zipkin-address'))).toEqual([]);
  // without it no proxy is given the flag (tracing stays off)
  const untraced = buildPlan(topology, m, options);
  expect(untraced.processes.filter((p) => p.args.includes('--zipkin-address'))).toEqual([]);
});
