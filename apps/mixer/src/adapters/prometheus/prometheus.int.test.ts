/**
 * A real Prometheus scrapes the Mixer process's prometheus adapter listener and
 * answers `sum by (destination_service) (istio_requests_total)`.
 * Without the `prometheus` binary it is skipped with a warning locally, and
 * fails under CI (`CI=true`, as .ci/run sets it) or `TSMESH_E2E_STRICT=1`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MutableBag } from '@tsmesh/attributes';
import { freePort, httpRequest, startApp, tempDir, waitFor, type AppProcess } from '@tsmesh/testing';
import { TestMixerClient } from '../../server/mixer-client.test-support';

const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
const strict = process.env['CI'] === 'true' || process.env['TSMESH_E2E_STRICT'] === '1';
const missing =
  'the `prometheus` binary is not installed (apt-get install -y prometheus, which tools/ci/install-system-deps.sh runs as root)';
if (!hasPrometheus && !strict) console.warn(`SKIPPING prometheus.int.test: ${missing}`);
const maybe = hasPrometheus || strict ? describe : describe.skip;

maybe('real Prometheus scraping Mixer', () => {
  let mixer: AppProcess;
  let prom: ChildProcess;
  let dir: { path: string; cleanup(): Promise<void> | void };
  let promUrl = '';

  beforeAll(async () => {
    if (!hasPrometheus) throw new Error(`${missing}, and CI / TSMESH_E2E_STRICT=1 requires it`);
    dir = await tempDir('mixer-prom-');
    mixer = await startApp('mixer', {
      args: ['--grpc-address=127.0.0.1:0', '--prometheus-address=127.0.0.1:0', '--monitoring-address='],
      ready: { listeners: ['grpc', 'prometheus'] },
    });
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const cfg = join(dir.path, 'prometheus.yml');
    writeFileSync(
      cfg,
      `global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: istio-mesh\n  scrape_interval: 1s\n  static_configs:\n  - targets: ['${mixer.addresses['prometheus']}']\n`,
    );
    prom = spawn(
      'prometheus',
      [
        `--config.file=${cfg}`,
        `--storage.tsdb.path=${join(dir.path, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    await waitFor(async () => (await httpRequest(`${promUrl}/-/ready`).catch(() => ({ status: 0 }))).status === 200, {
      timeoutMs: 20_000,
    });
  });

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const done = new Promise((r) => prom.once('exit', r));
      prom.kill('SIGTERM');
      await done;
    }
    await mixer?.stop();
    await dir?.cleanup();
  });

  it('sees istio_requests_total by destination_service', async () => {
    const client = new TestMixerClient(mixer.addresses['grpc']);
    const call = (host: string) =>
      MutableBag.from({ 'context.protocol': 'http', 'destination.service.host': host, 'response.code': 200 });
    await client.report([
      call('reviews.default.svc.cluster.local'),
      call('reviews.default.svc.cluster.local'),
      call('ratings.default.svc.cluster.local'),
    ]);
    client.close();
    const query = encodeURIComponent('sum by (destination_service) (istio_requests_total)');
    let result: Array<{ metric: { destination_service: string }; value: [number, string] }> = [];
    await waitFor(
      async () => {
        const res = await httpRequest(`${promUrl}/api/v1/query?query=${query}`);
        result = JSON.parse(res.body).data.result;
        return result.length === 2;
      },
      { timeoutMs: 20_000 },
    );
    const byService = Object.fromEntries(result.map((r) => [r.metric.destination_service, Number(r.value[1])]));
    expect(byService).toEqual({ 'reviews.default.svc.cluster.local': 2, 'ratings.default.svc.cluster.local': 1 });
  });
});
