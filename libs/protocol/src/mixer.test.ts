import {
  decode,
  encode,
  fromYaml,
  mixerServiceDefinition,
  toJson,
  TypeUrl,
  typeNameOf,
  type MixerCheckRequest,
  type MixerCheckResponse,
  type MixerHttpClientConfig,
} from './index';

describe('Mixer protos (istio.mixer.v1)', () => {
  it('a CheckRequest with compressed attributes encodes and decodes', () => {
    const req = {
      attributes: {
        words: ['reviews.default.svc.cluster.local', 'jason'],
        strings: { '-1': -2, '3': -1 }, // request.headers? destination.service -> word indices
        int64s: { '10': 9080 },
        bools: { '20': true },
        durations: { '30': { nanos: 5000000 } },
        timestamps: { '31': { seconds: 1795417200 } },
        bytes: { '40': Buffer.from([10, 0, 0, 12]) },
        string_maps: { '50': { entries: { '-1': -2 } } },
      },
      global_word_count: 151,
      deduplication_id: 'id-1',
      quotas: { 'requestcount.quota.istio-system': { amount: 1, best_effort: true } },
    };
    const type = typeNameOf(TypeUrl.MIXER_CHECK_REQUEST);
    const back = decode(type, encode(type, req));
    expect(back).toEqual(req);
    // the gRPC service definition reads the same bytes
    const check = mixerServiceDefinition()['Check'];
    const viaGrpc = check.requestDeserialize(encode(type, req)) as MixerCheckRequest;
    expect(viaGrpc.global_word_count).toBe(151);
    expect(viaGrpc.attributes?.words).toEqual(req.attributes.words);
  });

  it('a CheckResponse and a ReportRequest keep Istio field numbers', () => {
    const resp = {
      precondition: {
        status: { code: 7, message: 'denied', details: [] },
        valid_duration: { seconds: 60 },
        valid_use_count: 1000,
        referenced_attributes: { words: ['source.user'], attribute_matches: [{ name: -1, condition: 'EXACT' }] },
      },
      quotas: {},
    };
    const back = decode<MixerCheckResponse>(
      'istio.mixer.v1.CheckResponse',
      encode('istio.mixer.v1.CheckResponse', resp),
    );
    expect(back.precondition?.valid_use_count).toBe(1000);
    expect(back.precondition?.referenced_attributes?.attribute_matches[0]).toEqual({ name: -1, condition: 'EXACT' });
    // ReportRequest.global_word_count is field 3 (varint): tag byte 0x18
    expect([...encode('istio.mixer.v1.ReportRequest', { global_word_count: 5 })]).toEqual([0x18, 5]);
  });

  it('the Mixer filter client config loads from YAML as Pilot writes it', () => {
    const cfg = fromYaml<MixerHttpClientConfig>(
      TypeUrl.MIXER_HTTP_CLIENT_CONFIG,
      [
        'transport:',
        '  check_cluster: outbound|9091||istio-policy.istio-system.svc.cluster.local',
        '  report_cluster: outbound|9091||istio-telemetry.istio-system.svc.cluster.local',
        '  network_fail_policy:',
        '    policy: FAIL_CLOSE',
        'default_destination_service: reviews.default.svc.cluster.local',
        'service_configs:',
        '  reviews.default.svc.cluster.local:',
        '    disable_check_calls: true',
        '    mixer_attributes:',
        '      attributes:',
        '        destination.service:',
        '          string_value: reviews.default.svc.cluster.local',
        'mixer_attributes:',
        '  attributes:',
        '    destination.uid:',
        '      string_value: kubernetes://reviews-v1.default',
      ].join('\n'),
    );
    expect(cfg.transport?.network_fail_policy?.policy).toBe('FAIL_CLOSE');
    const back = decode(
      'istio.mixer.v1.config.client.HttpClientConfig',
      encode('istio.mixer.v1.config.client.HttpClientConfig', cfg),
    );
    expect(back).toEqual(cfg);
    expect(toJson('istio.mixer.v1.config.client.HttpClientConfig', back)).toMatchObject({
      default_destination_service: 'reviews.default.svc.cluster.local',
    });
  });
});
