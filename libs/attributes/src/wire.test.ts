import { decode, encode } from '@tsmesh/protocol';
import { MutableBag, parseIp } from './bag';
import { decodeBag, encodeBag } from './compressed';
import { decodeReport, encodeReport } from './report-codec';

const bag = () =>
  MutableBag.from({
    'source.uid': 'kubernetes://productpage-v1-1.default',
    'request.headers': { ':path': '/productpage', 'x-user': 'jason' },
    'request.size': 1234567890123,
    'response.duration': 1500.25,
    'request.time': new Date('2018-07-31T10:00:00.5Z'),
    'destination.ip': parseIp('fd00::1') as Uint8Array,
    'connection.mtls': false,
    'custom.ratio': 0.5,
  });

describe('compressed attributes through protobuf (istio.mixer.v1)', () => {
  it('round-trips a bag: encode → CompressedAttributes bytes → decode', () => {
    const b = bag();
    const wire = encode('istio.mixer.v1.CompressedAttributes', encodeBag(b));
    const back = decodeBag(decode('istio.mixer.v1.CompressedAttributes', wire));
    expect(back.toRecord()).toEqual(b.toRecord());
  });

  it('round-trips a report batch with default_words', () => {
    const a = bag();
    const c = bag().set('response.duration', 3).set('source.uid', 'kubernetes://other');
    const [req] = encodeReport([a, c]);
    const wire = encode('istio.mixer.v1.ReportRequest', req);
    const back = decodeReport(decode('istio.mixer.v1.ReportRequest', wire));
    expect(back.map((x) => x.toRecord())).toEqual([a.toRecord(), c.toRecord()]);
  });
});
