import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MutableBag } from '@tsmesh/attributes';
import { GrpcStatus } from '@tsmesh/core';
import { httpRequest, startApp, tempDir, waitFor, type AppProcess } from '@tsmesh/testing';
import { TestMixerClient } from './mixer-client.test-support';

const fixtures = join(__dirname, '..', '__fixtures__');

const RATE = `
apiVersion: config.istio.io/v1alpha2
kind: memquota
metadata: { name: handler, namespace: istio-system }
spec:
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: 100
    validDuration: 1s
    overrides:
    - dimensions: { destination: ratings }
      maxAmount: 2
      validDuration: 1s
---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata: { name: requestcount, namespace: istio-system }
spec:
  dimensions:
    destination: destination.labels["app"] | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: quota, namespace: istio-system }
spec:
  actions:
  - handler: handler.memquota
    instances: [ requestcount.quota ]
`;

describe('mixer process over real gRPC', () => {
  let dir: { path: string; cleanup(): Promise<void> | void };
  let mixer: AppProcess;
  let client: TestMixerClient;

  beforeAll(async () => {
    dir = await tempDir('mixer-int-');
    copyFileSync(join(fixtures, 'policy-deny.yaml'), join(dir.path, 'deny.yaml'));
    writeFileSync(join(dir.path, 'rate.yaml'), RATE);
    mixer = await startApp('mixer', {
      args: [
        '--grpc-address=127.0.0.1:0',
        '--prometheus-address=127.0.0.1:0',
        '--monitoring-address=127.0.0.1:0',
        `--config-dir=${dir.path}`,
        '--config-poll-interval=100ms',
      ],
      ready: { listeners: ['grpc', 'prometheus', 'http'] },
    });
    client = new TestMixerClient(mixer.addresses['grpc']);
  });

  afterAll(async () => {
    client?.close();
    await mixer?.stop();
    await dir?.cleanup();
  });

  const reviewsV3 = () =>
    MutableBag.from({
      'destination.namespace': 'default',
      'destination.labels': { app: 'ratings' },
      'source.labels': { app: 'reviews', version: 'v3' },
    });

  it('answers Check with the denier status and the referenced attributes', async () => {
    const res = await client.check(reviewsV3());
    expect(res.precondition.status).toMatchObject({
      code: GrpcStatus.PERMISSION_DENIED,
      message: 'denyreviewsv3handler.denier.default:Not allowed',
    });
    expect(res.precondition.valid_duration.seconds).toBe(5);
    expect(res.precondition.referenced_attributes.attribute_matches.length).toBeGreaterThan(0);
    const ok = await client.check(reviewsV3().set('source.labels', { app: 'reviews', version: 'v2' }));
    expect(ok.precondition.status.code).toBe(GrpcStatus.OK);
  });

  it('answers INVALID_ARGUMENT to indexes outside both dictionaries, and keeps serving', async () => {
    await expect(
      client.checkRaw({ attributes: { words: [], strings: { '999': -4 } }, global_word_count: 203 }),
    ).rejects.toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
    });
    expect((await client.check(reviewsV3())).precondition.status.code).toBe(GrpcStatus.PERMISSION_DENIED);
  });

  it('grants quota up to the limit, then 0, and again after the window', async () => {
    const bag = MutableBag.from({ 'destination.labels': { app: 'ratings' } });
    const granted = async () => (await client.check(bag, { requestcount: 1 })).quotas['requestcount'].granted_amount;
    // a fresh window may start between calls, so look for the exhausted answer within a few calls
    const answers: number[] = [];
    for (let i = 0; i < 6 && !answers.includes(0); i++) answers.push(await granted());
    expect(answers).toContain(0);
    expect(answers.filter((a) => a === 1).length).toBeGreaterThanOrEqual(2);
    await waitFor(async () => (await granted()) === 1, { timeoutMs: 5000 });
  });

  it('turns Report batches into Istio metrics on the prometheus listener', async () => {
    const bag = MutableBag.from({
      'context.protocol': 'http',
      'destination.service.host': 'reviews.default.svc.cluster.local',
      'response.code': 200,
      'response.duration': 7,
    });
    await client.report([bag, bag, new MutableBag(bag).set('response.code', 503)]);
    const res = await httpRequest(`http://${mixer.addresses['prometheus']}/metrics`);
    expect(res.body).toMatch(
      /istio_requests_total\{[^}]*destination_service="reviews.default.svc.cluster.local"[^}]*response_code="200"[^}]*\} 2/,
    );
    expect(res.body).toMatch(/istio_requests_total\{[^}]*response_code="503"[^}]*\} 1/);
  });

  it('rejects a bad object with a field-addressed error and keeps serving the last good config', async () => {
    const keep = readFileSync(join(fixtures, 'policy-deny.yaml'), 'utf8').split('---').slice(0, 2).join('---');
    writeFileSync(
      join(dir.path, 'deny.yaml'),
      `${keep}---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: denyreviewsv3
spec:
  match: source.labels["version"] = "v3"
  actions:
  - handler: denyreviewsv3handler.denier
    instances: [ denyreviewsv3request.checknothing ]
`,
    );
    const line = await mixer.waitForLog(/MIXER_ERR_INVALID_CONFIG.*spec\.match/);
    expect(line).toContain('column 26');
    // the last good version of the rule keeps serving
    expect((await client.check(reviewsV3())).precondition.status.code).toBe(GrpcStatus.PERMISSION_DENIED);
  });

  it('serves rules on attributes an attributemanifest in the folder declares, and refuses them once it is gone', async () => {
    const custom = readFileSync(join(fixtures, 'custom-attributes.yaml'), 'utf8');
    writeFileSync(join(dir.path, 'custom.yaml'), custom);
    // the custom names travel as per-message words of the compressed attributes
    const call = (tier: string) =>
      MutableBag.from({ 'request.method': 'POST', 'my.custom_attr': 'x', 'my.custom_tier': tier });
    const status = async (tier: string) => (await client.check(call(tier))).precondition.status;
    await waitFor(async () => (await status('bronze')).code === GrpcStatus.NOT_FOUND, { timeoutMs: 5000 });
    expect((await status('bronze')).message).toBe('tiers.listchecker.istio-system:bronze is not whitelisted');
    expect((await status('gold')).code).toBe(GrpcStatus.OK);

    writeFileSync(join(dir.path, 'custom.yaml'), custom.split('---').slice(1).join('---'));
    const line = await mixer.waitForLog(/MIXER_ERR_INVALID_CONFIG.*spec\.match.*unknown attribute my\.custom_attr/);
    expect(line).toContain('column 29');
    expect((await status('bronze')).code).toBe(GrpcStatus.OK);
  });
});

describe('--mode', () => {
  it('policy serves Check only; telemetry serves Report only', async () => {
    const policy = await startApp('mixer', {
      args: ['--grpc-address=127.0.0.1:0', '--prometheus-address=', '--monitoring-address=', '--mode=policy'],
      ready: { listeners: ['grpc'] },
    });
    const telemetry = await startApp('mixer', {
      args: ['--grpc-address=127.0.0.1:0', '--prometheus-address=', '--monitoring-address=', '--mode=telemetry'],
      ready: { listeners: ['grpc'] },
    });
    const p = new TestMixerClient(policy.addresses['grpc']);
    const t = new TestMixerClient(telemetry.addresses['grpc']);
    try {
      const bag = MutableBag.from({ 'request.path': '/' });
      expect((await p.check(bag)).precondition.status.code).toBe(GrpcStatus.OK);
      await expect(p.report([bag])).rejects.toMatchObject({ code: GrpcStatus.UNIMPLEMENTED });
      await t.report([bag]);
      await expect(t.check(bag)).rejects.toMatchObject({ code: GrpcStatus.UNIMPLEMENTED });
    } finally {
      p.close();
      t.close();
      await policy.stop();
      await telemetry.stop();
    }
  });

  it('exits 2 with one clear line on a bad flag or a missing config folder', async () => {
    const never = { log: /this line never appears/ };
    await expect(startApp('mixer', { args: ['--mode=sideways'], ready: never })).rejects.toThrow(
      /exited with code 2[\s\S]*CORE_ERR_BAD_SETTING/,
    );
    await expect(
      startApp('mixer', { args: ['--config-dir=/nonexistent/tsmesh', '--grpc-address=127.0.0.1:0'], ready: never }),
    ).rejects.toThrow(/exited with code 2[\s\S]*MIXER_ERR_CONFIG_DIR/);
  });
});
