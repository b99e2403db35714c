/**
 * The built Mixer with `--kube` against a fake Kubernetes API server (@tsmesh/testing FakeKube:
 * list + watch with resourceVersions, 410 Gone): Istio 1.0's per-kind denier sample appears as
 * CRD objects → Check denied; the rule is deleted → allowed; a handler updated with a bad spec is
 * refused with its field path while its previous version keeps serving; a 410 relist picks up
 * what changed meanwhile.
 */
import { join } from 'node:path';
import { MutableBag } from '@tsmesh/attributes';
import { GrpcStatus } from '@tsmesh/core';
import { FakeKube, httpRequest, startApp, tempDir, waitFor, type AppProcess, type TempDir } from '@tsmesh/testing';
import { TestMixerClient } from '../server/mixer-client.test-support';

type Obj = Record<string, unknown>;
const API = '/apis/config.istio.io/v1alpha2';

const obj = (kind: string, name: string, spec: Obj | unknown[] | null, namespace = 'default'): Obj => ({
  apiVersion: 'config.istio.io/v1alpha2',
  kind,
  metadata: { name, namespace },
  spec,
});

const denier = (message: string) => obj('denier', 'denyreviewsv3handler', { status: { code: 7, message } });
const checknothing = obj('checknothing', 'denyreviewsv3request', {});
const rule = obj('rule', 'denyreviewsv3', {
  match: 'destination.labels["app"] == "ratings" && source.labels["version"] == "v3"',
  actions: [{ handler: 'denyreviewsv3handler.denier', instances: ['denyreviewsv3request.checknothing'] }],
});

describe('mixer --kube against a fake API server', () => {
  let kube: FakeKube;
  let dir: TempDir;
  let mixer: AppProcess;
  let client: TestMixerClient;

  beforeAll(async () => {
    kube = new FakeKube();
    await kube.start();
    // present before Mixer starts: part of the first list
    kube.put(`${API}/deniers`, denier('Not allowed'));
    kube.put(`${API}/checknothings`, checknothing);
    dir = tempDir('mixer-kube-');
    mixer = await startApp('mixer', {
      args: [
        '--kube',
        '--grpc-address=127.0.0.1:0',
        '--prometheus-address=',
        '--monitoring-address=127.0.0.1:0',
        '--builtin-access-log=false',
      ],
      env: { KUBECONFIG: kube.kubeconfig(join(dir.path, 'kubeconfig')) },
      ready: { listeners: ['grpc', 'http'], http: '/ready' },
    });
    client = new TestMixerClient(mixer.addresses['grpc']);
  });

  afterAll(async () => {
    client?.close();
    await mixer?.stop();
    await kube?.stop();
    dir?.cleanup();
  });

  const debugConfig = async (): Promise<Obj> =>
    JSON.parse(String((await httpRequest(`${mixer.url('http')}/debug/config`)).body)) as Obj;
  const reviewsV3 = () =>
    MutableBag.from({
      'destination.namespace': 'default',
      'destination.labels': { app: 'ratings' },
      'source.labels': { app: 'reviews', version: 'v3' },
    });
  const status = async () => (await client.check(reviewsV3())).precondition.status;

  it('lists and watches every config.istio.io kind Mixer reads, per-kind CRDs included', async () => {
    const watched = new Set(kube.requests.filter((r) => r.startsWith('WATCH ')).map((r) => r.slice(6)));
    for (const plural of [
      'rules',
      'handlers',
      'instances',
      'attributemanifests',
      'quotaspecs',
      'quotaspecbindings',
      'deniers',
      'listcheckers',
      'memquotas',
      'redisquotas',
      'prometheuses',
      'stdios',
      'checknothings',
      'listentries',
      'quotas',
      'metrics',
      'logentries',
    ])
      expect([plural, watched.has(`${API}/${plural}`)]).toEqual([plural, true]);
    const cfg = await debugConfig();
    expect(cfg['handlers']).toContain('denyreviewsv3handler.denier.default');
    expect(cfg['instances']).toContain('denyreviewsv3request.checknothing.default');
    // the built-in telemetry config is still there
    expect(cfg['rules']).toContain('promhttp.rule.istio-system');
    expect((await status()).code).toBe(GrpcStatus.OK);
  });

  it('a denier rule appears → Check denied; the rule is deleted → allowed', async () => {
    kube.put(`${API}/rules`, rule);
    await waitFor(async () => (await status()).code === GrpcStatus.PERMISSION_DENIED, { what: 'rule applied' });
    expect(await status()).toMatchObject({
      code: GrpcStatus.PERMISSION_DENIED,
      message: 'denyreviewsv3handler.denier.default:Not allowed',
    });
    expect(kube.remove(`${API}/rules`, 'default', 'denyreviewsv3')).toBe(true);
    await waitFor(async () => (await status()).code === GrpcStatus.OK, { what: 'rule deleted' });
    expect((await debugConfig())['rules']).not.toContain('denyreviewsv3.rule.default');
  });

  it('a bad handler is refused with its field path; its previous version keeps serving', async () => {
    kube.put(`${API}/rules`, rule);
    await waitFor(async () => (await status()).code === GrpcStatus.PERMISSION_DENIED, { what: 'rule back' });
    kube.put(`${API}/deniers`, obj('denier', 'denyreviewsv3handler', { status: { code: 'NOPE' } }));
    const cfg = await waitFor(
      async () => {
        const c = await debugConfig();
        return (c['rejected'] as Obj[]).length > 0 ? c : undefined;
      },
      { what: 'bad handler rejected' },
    );
    const rejected = (cfg['rejected'] as Obj[])[0];
    expect(rejected).toMatchObject({
      kind: 'denier',
      namespace: 'default',
      name: 'denyreviewsv3handler',
      file: `kube:${API}/namespaces/default/deniers/denyreviewsv3handler`,
    });
    expect(JSON.stringify(rejected['errors'])).toContain('spec.status.code');
    const logged = await waitFor(() => mixer.logs.find((l) => l.includes('MIXER_ERR_INVALID_CONFIG')), {
      what: 'rejection logged',
    });
    expect(logged).toContain('spec.status.code');
    expect(logged).toContain(`kube:${API}/namespaces/default/deniers/denyreviewsv3handler`);
    expect(await status()).toMatchObject({
      code: GrpcStatus.PERMISSION_DENIED,
      message: 'denyreviewsv3handler.denier.default:Not allowed',
    });
    // a spec that is not even a map is refused before the snapshot builder, the old one still serves
    kube.put(`${API}/deniers`, obj('denier', 'denyreviewsv3handler', ['not', 'a', 'map']));
    await waitFor(async () => JSON.stringify((await debugConfig())['unreadable']).includes('spec: must be a map'), {
      what: 'non-map spec refused',
    });
    expect((await status()).message).toBe('denyreviewsv3handler.denier.default:Not allowed');
    // fixed: the new message serves
    kube.put(`${API}/deniers`, denier('Go away'));
    await waitFor(async () => (await status()).message === 'denyreviewsv3handler.denier.default:Go away', {
      what: 'fixed handler applied',
    });
    expect((await debugConfig())['rejected']).toEqual([]);
  });

  it('relists after 410 Gone: a rule deleted while the watch was down stops applying', async () => {
    kube.replaceSilently(`${API}/rules`, []);
    kube.closeWatches();
    await waitFor(async () => (await status()).code === GrpcStatus.OK, { what: 'relisted rules' });
    expect((await debugConfig())['rules']).not.toContain('denyreviewsv3.rule.default');
  });
});
