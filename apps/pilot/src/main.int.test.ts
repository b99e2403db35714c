/**
 * The built app (`dist/apps/pilot/main.js`): folder registry with bad input
 * (invalid YAML, unknown kind, bad field → rejected with file, object and field
 * path in /debug/configz, the last good version keeps serving), graceful stop,
 * and the Kubernetes registry against a fake API server (list/watch with
 * resourceVersions, `410 Gone` → relist).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FakeKube,
  httpRequest,
  stopAllApps,
  tempDir,
  waitFor,
  type AppProcess,
  type TempDir,
  startPilot,
} from '@tsmesh/testing';
import { BOOKINFO_YAML, REVIEWS_DR } from './testing/bookinfo';
import { simulate } from './testing/simulate';
import { AdsClient } from './testing/ads-client';
import { TYPE } from './configgen/names';

type Obj = Record<string, unknown>;

async function getJson(url: string): Promise<Obj> {
  const r = await httpRequest(url);
  return JSON.parse(String(r.body)) as Obj;
}

function vsTo(subset: string, weight = 100): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: ${subset}}, weight: ${weight}}]}]
`;
}

const NODE = 'sidecar~10.1.0.10~productpage-v1-abc.default~default.svc.cluster.local';

async function reviewsCluster(app: AppProcess): Promise<string | undefined> {
  const dump = await getJson(`${app.url('http')}/debug/config_dump?proxyID=${encodeURIComponent(NODE)}`);
  const rc = (dump['rds'] as Obj[]).find((r) => r['name'] === '9080') as Obj;
  return simulate(rc, { authority: 'reviews:9080' })?.cluster;
}

describe('pilot app, folder registry and bad input', () => {
  let dir: TempDir;
  let app: AppProcess;

  beforeAll(async () => {
    dir = tempDir('pilot-app-');
    writeFileSync(join(dir.path, 'bookinfo.yaml'), BOOKINFO_YAML + '---\n' + REVIEWS_DR);
    writeFileSync(join(dir.path, 'vs.yaml'), vsTo('v1'));
    app = await startPilot({ configDir: dir.path });
  });

  afterAll(async () => {
    await stopAllApps();
    dir.cleanup();
  });

  it('serves the folder config', async () => {
    expect(await reviewsCluster(app)).toBe('outbound|9080|v1|reviews.default.svc.cluster.local');
  });

  it('rejects invalid YAML, a bad field and an unknown kind; the last good version keeps serving', async () => {
    writeFileSync(join(dir.path, 'vs.yaml'), 'kind: VirtualService\nmetadata: {name: reviews\n  bad: [');
    // Two destinations weighted 60 + 30 (a single destination needs no weight, as in Istio).
    writeFileSync(
      join(dir.path, 'bad-field.yaml'),
      vsTo('v3', 60)
        .replace('name: reviews', 'name: reviews-bad')
        .replace('weight: 60}', 'weight: 60}, {destination: {host: reviews, subset: v1}, weight: 30}'),
    );
    writeFileSync(join(dir.path, 'unknown.yaml'), 'apiVersion: x/v1\nkind: Frobnicator\nmetadata: {name: f}\n');
    const configz = await waitFor(
      async () => {
        const c = await getJson(`${app.url('http')}/debug/configz`);
        return (c['rejected'] as Obj[]).length >= 3 ? c : undefined;
      },
      { what: 'three rejections in /debug/configz' },
    );
    const rejected = configz['rejected'] as Obj[];
    const byKey = (k: string) => rejected.find((r) => String(r['key']).includes(k)) as Obj;
    expect(String(byKey('vs.yaml')['error'])).toMatch(/vs\.yaml: not valid YAML/);
    expect(byKey('reviews-bad')['fieldErrors']).toEqual([
      { path: 'spec.http[0].route[0].weight', message: 'weights must sum to 100, got 90' },
    ]);
    expect(String(byKey('reviews-bad')['source'])).toMatch(/bad-field\.yaml$/);
    expect(String(byKey('Frobnicator')['error'])).toMatch(/unknown kind Frobnicator/);
    expect(await reviewsCluster(app)).toBe('outbound|9080|v1|reviews.default.svc.cluster.local');
    expect(
      app.logs.some((l) => l.includes('PILOT_ERR_INVALID_CONFIG') && l.includes('spec.http[0].route[0].weight')),
    ).toBe(true);
    writeFileSync(join(dir.path, 'vs.yaml'), vsTo('v2'));
    await waitFor(async () => (await reviewsCluster(app)) === 'outbound|9080|v2|reviews.default.svc.cluster.local', {
      what: 'fixed file applied',
    });
  });

  it('serves /metrics, /debug/adsz and /debug/syncz', async () => {
    const metrics = String((await httpRequest(`${app.url('http')}/metrics`)).body);
    for (const name of [
      'pilot_xds ',
      'pilot_xds_pushes',
      'pilot_proxy_convergence_time',
      'pilot_total_xds_rejects',
      'pilot_xds_push_errors',
    ])
      expect(metrics).toContain(name);
    expect((await getJson(`${app.url('http')}/debug/adsz`))['totalClients']).toBe(0);
    expect((await httpRequest(`${app.url('http')}/debug/syncz`)).status).toBe(200);
    expect((await httpRequest(`${app.url('http')}/debug/nope`)).status).toBe(404);
  });

  it('stops gracefully on SIGTERM, closing connected xDS streams', async () => {
    const client = new AdsClient({ address: app.addresses['grpc'], nodeId: NODE });
    await client.subscribe(TYPE.cluster);
    expect(await app.stop('SIGTERM')).toBe(0);
    await waitFor(() => client.closed, { what: 'stream closed by Pilot' });
    client.close();
  });
});

const svc = (name: string): Obj => ({
  metadata: { name, namespace: 'default' },
  spec: { clusterIP: '10.96.1.1', selector: { app: name }, ports: [{ name: 'http', port: 9080 }] },
});

describe('pilot app, Kubernetes registry against a fake API server', () => {
  let kube: FakeKube;
  let dir: TempDir;
  let app: AppProcess;

  beforeAll(async () => {
    kube = new FakeKube();
    await kube.start();
    kube.put('/api/v1/services', svc('reviews'));
    dir = tempDir('pilot-kube-');
    const kubeconfig = kube.kubeconfig(join(dir.path, 'kubeconfig'));
    app = await startPilot({ kubeconfig: kubeconfig });
  });

  afterAll(async () => {
    await stopAllApps();
    await kube.stop();
    dir.cleanup();
  });

  const hosts = async () =>
    ((await getJson(`${app.url('http')}/debug/configz`))['objects'] as Obj[]).map((o) => String(o['key']));

  it('lists, then follows watch events', async () => {
    await waitFor(async () => (await hosts()).includes('Service/default/reviews'), { what: 'listed service' });
    kube.put('/apis/networking.istio.io/v1alpha3/virtualservices', {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'default' },
      spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] },
    });
    await waitFor(async () => (await hosts()).includes('VirtualService/default/reviews'), {
      what: 'watched VirtualService',
    });
  });

  it('relists after 410 Gone and drops objects that vanished meanwhile', async () => {
    kube.replaceSilently('/api/v1/services', [svc('ratings')]);
    kube.closeWatches();
    await waitFor(
      async () => {
        const h = await hosts();
        return h.includes('Service/default/ratings') && !h.includes('Service/default/reviews');
      },
      { what: 'relisted services' },
    );
  });
});
