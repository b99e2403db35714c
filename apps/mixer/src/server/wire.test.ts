import { mixerServiceDefinition } from '@tsmesh/protocol';
import type { CheckOutcome } from '../runtime/runtime';
import { encodeCheckResponse, toCheckResponse } from './wire';

const check = mixerServiceDefinition()['Check'];
const viaGeneric = (out: CheckOutcome) => check.responseDeserialize(check.responseSerialize(toCheckResponse(out)));
const viaDirect = (out: CheckOutcome) => check.responseDeserialize(encodeCheckResponse(out));

describe('encodeCheckResponse', () => {
  it('decodes to the same CheckResponse as the generic encoder of the object form', () => {
    const denied: CheckOutcome = {
      status: { code: 7, message: 'denyreviewsv3handler.denier.default:Not allowed' },
      validDurationMs: 5000,
      validUseCount: 10000,
      references: [
        { name: 'destination.namespace', condition: 'EXACT' },
        { name: 'destination.labels', mapKey: 'app', condition: 'EXACT' },
        { name: 'source.labels', mapKey: 'version', condition: 'EXACT' },
        { name: 'source.labels', mapKey: 'a-key-no-dictionary-has', condition: 'ABSENCE' },
        { name: 'custom.attribute', condition: 'ABSENCE' },
        { name: 'source.ip', condition: 'EXACT' },
      ],
      quotas: new Map([
        [
          'requestcount.quota.istio-system',
          {
            amount: 3,
            validDurationMs: 1500.25,
            references: [{ name: 'destination.labels', mapKey: 'app', condition: 'EXACT' }],
          },
        ],
        ['exhausted', { amount: 0, validDurationMs: 0, references: [] }],
      ]),
    };
    expect(viaDirect(denied)).toEqual(viaGeneric(denied));
    const ok: CheckOutcome = {
      status: { code: 0, message: '' },
      validDurationMs: 60_000,
      validUseCount: 0,
      references: [],
      quotas: new Map(),
    };
    expect(viaDirect(ok)).toEqual(viaGeneric(ok));
    // long bodies (more than 127 bytes in one length-delimited field) and large numbers
    const big: CheckOutcome = {
      ...denied,
      status: { code: 8, message: 'm'.repeat(20_000) },
      validDurationMs: 86_400_000 * 400,
      quotas: new Map([['q', { amount: 2 ** 40, validDurationMs: 1, references: denied.references }]]),
    };
    expect(viaDirect(big)).toEqual(viaGeneric(big));
  });
});
