import { encodeBag, GLOBAL_WORDS, MutableBag } from '@tsmesh/attributes';
import { mixerServiceDefinition } from '@tsmesh/protocol';
import {
  decodeCheckResponse,
  encodeCheckRequest,
  encodeCheckRequestFromBag,
  type CheckRequestObject,
} from './check-codec';

const generic = mixerServiceDefinition()['Check'];
const viaGeneric = (req: CheckRequestObject) => generic.requestDeserialize(generic.requestSerialize(req));
const viaDirect = (req: CheckRequestObject) => generic.requestDeserialize(encodeCheckRequest(req));

describe('encodeCheckRequest', () => {
  it('decodes to the same CheckRequest as the generic encoder, for every attribute type', () => {
    const bag = new MutableBag()
      .set('request.path', '/ratings/0')
      .set('source.labels', { app: 'reviews', version: 'v2', 'x-long-label-name': 'a'.repeat(300) })
      .set('destination.port', 9080)
      .set('source.port', -12345, 'INT64')
      .set('request.size', 2 ** 40, 'INT64')
      .set('my.ratio', 0.25, 'DOUBLE')
      .set('connection.mtls', true)
      .set('check.cache_hit', false, 'BOOL')
      .set('request.time', new Date(1_700_000_000_123))
      .set('response.duration', 1500.5, 'DURATION')
      .set('source.ip', new Uint8Array([127, 0, 0, 1]))
      .set('request.headers', Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`h${i}`, `value ${i}`])));
    const req: CheckRequestObject = {
      attributes: encodeBag(bag),
      global_word_count: GLOBAL_WORDS.length,
      deduplication_id: 'pid-abc-42',
      quotas: {
        'requestcount.quota.istio-system': { amount: 5, best_effort: true },
        other: { amount: 1, best_effort: false },
      },
    };
    expect(viaDirect(req)).toEqual(viaGeneric(req));
    // straight from the bag: the same words, indexes and values
    const { attributes: _a, ...rest } = req;
    const fromBag = generic.requestDeserialize(encodeCheckRequestFromBag(bag, rest));
    expect(fromBag).toEqual(viaGeneric(req));
  });

  it('writes an empty request and one without quotas the same way too', () => {
    expect(viaDirect({})).toEqual(viaGeneric({}));
    const req = { attributes: encodeBag(MutableBag.from({ 'request.path': '/' })), global_word_count: 0, quotas: {} };
    expect(viaDirect(req)).toEqual(viaGeneric(req));
    const empty = generic.requestDeserialize(encodeCheckRequestFromBag(new MutableBag(), { global_word_count: 0 }));
    expect(empty).toEqual(viaGeneric({ attributes: encodeBag(new MutableBag()), global_word_count: 0 }));
  });
});

describe('decodeCheckResponse', () => {
  const check = mixerServiceDefinition()['Check'];
  const refs = {
    words: ['version', 'x-user'],
    attribute_matches: [
      { name: GLOBAL_WORDS.indexOf('destination.labels'), condition: 'EXACT', regex: '', map_key: -1 },
      { name: GLOBAL_WORDS.indexOf('request.headers'), condition: 'ABSENCE', regex: '', map_key: -2 },
      { name: GLOBAL_WORDS.indexOf('source.ip'), condition: 'EXACT', regex: '', map_key: 0 },
      { name: 0, condition: 'REGEX', regex: '^/api', map_key: 0 },
    ],
  };
  it('decodes to what proto-loader decodes, for a denial with quotas and for an empty answer', () => {
    const full = {
      precondition: {
        status: { code: 7, message: 'denyreviewsv3handler.denier.default:Not allowed', details: [] },
        valid_duration: { seconds: 5, nanos: 250_000_000 },
        valid_use_count: 10_000,
        referenced_attributes: refs,
      },
      quotas: {
        'requestcount.quota.istio-system': {
          valid_duration: { seconds: 1, nanos: 0 },
          granted_amount: 2 ** 40,
          referenced_attributes: refs,
        },
        exhausted: { valid_duration: { seconds: 0, nanos: 0 }, granted_amount: 0, referenced_attributes: null },
      },
    };
    for (const res of [full, {}, { precondition: { status: { code: 0 } } }]) {
      const bytes = check.responseSerialize(res);
      expect(decodeCheckResponse(bytes)).toEqual(check.responseDeserialize(bytes));
    }
  });
});
