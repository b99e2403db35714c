import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition, unpackAny } from '@tsmesh/protocol';
import { FakeAds, type WireRequest } from './fake-ads';
import { waitFor } from './wait';

const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

interface WireResponse {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: { type_url: string; value: Buffer }[];
}

describe('FakeAds (fake xDS server)', () => {
  let ads: FakeAds;
  let client: grpc.Client;

  beforeAll(async () => {
    ads = await new FakeAds().start();
    const Ctor = grpc.makeClientConstructor(adsServiceDefinition(), 'ads');
    client = new Ctor(`127.0.0.1:${ads.port}`, grpc.credentials.createInsecure());
  });
  afterAll(() => {
    client.close();
    ads.stop();
  });

  it('records requests, pushes packed resources to open streams and finds the ACK by nonce', async () => {
    const call = (
      client as unknown as { StreamAggregatedResources(): grpc.ClientDuplexStream<WireRequest, WireResponse> }
    ).StreamAggregatedResources();
    const responses: WireResponse[] = [];
    call.on('data', (r: WireResponse) => responses.push(r));
    call.on('error', () => undefined);
    call.write({
      version_info: '',
      node: { id: 'sidecar~1' },
      type_url: CLUSTER,
      response_nonce: '',
      resource_names: [],
    });
    await waitFor(() => ads.requests.length === 1);
    expect(ads.requests[0].node?.id).toBe('sidecar~1');

    const nonce = ads.push(CLUSTER, 'v1', [{ name: 'outbound|9080||reviews.default.svc.cluster.local' }]);
    await waitFor(() => responses.length === 1);
    expect(responses[0]).toMatchObject({ version_info: 'v1', type_url: CLUSTER, nonce });
    expect(unpackAny(responses[0].resources[0])).toMatchObject({
      '@type': CLUSTER,
      name: 'outbound|9080||reviews.default.svc.cluster.local',
    });

    expect(ads.reply(nonce)).toBeUndefined();
    call.write({ version_info: 'v1', type_url: CLUSTER, response_nonce: nonce, resource_names: [] });
    await waitFor(() => ads.reply(nonce) !== undefined);
    expect(ads.reply(nonce)?.version_info).toBe('v1');
    call.end();
  });
});
