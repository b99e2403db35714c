/**
 * A real Prometheus scrapes the Mixer process's prometheus adapter listener and
 * answers `sum by (destination_service) (istio_requests_total)`.
 * Without the `prometheus` binary it is skipped with a warning locally, and
 * fails under CI (`CI=true`, as .ci/run sets it) or `TSMESH_E2E_STRICT=1`.
 */
import { MutableBag } from '@tsmesh/attributes';
import {
  prometheusSkipReason,
  startApp,
  startPrometheus,
  waitFor,
  type AppProcess,
  type Prometheus,
  type Sample,
} from '@tsmesh/testing';
import { TestMixerClient } from '../../server/mixer-client.test-support';

const skip = prometheusSkipReason();
if (skip) console.warn(`SKIPPING prometheus.int.test: ${skip}`);
const maybe = skip ? describe.skip : describe;

maybe('real Prometheus scraping Mixer', () => {
  let mixer: AppProcess;
  let prom: Prometheus | undefined;

  beforeAll(async () => {
    mixer = await startApp('mixer', {
      args: ['--grpc-address=127.0.0.1:0', '--prometheus-address=127.0.0.1:0', '--monitoring-address='],
      ready: { listeners: ['grpc', 'prometheus'] },
    });
    prom = await startPrometheus([mixer.addresses['prometheus']]);
  });

  afterAll(async () => {
    await prom?.stop();
    await mixer?.stop();
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
    const p = prom as Prometheus;
    let result: Sample[] = [];
    await waitFor(
      async () => {
        result = await p.query('sum by (destination_service) (istio_requests_total)');
        return result.length === 2;
      },
      { timeoutMs: 20_000 },
    );
    const byService = Object.fromEntries(result.map((r) => [r.labels['destination_service'], r.value]));
    expect(byService).toEqual({ 'reviews.default.svc.cluster.local': 2, 'ratings.default.svc.cluster.local': 1 });
  });
});
