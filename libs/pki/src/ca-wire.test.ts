import {
  decodeCertificateRequest,
  decodeCertificateResponse,
  encodeCertificateRequest,
  encodeCertificateResponse,
} from './ca-wire';

test('request and response round-trip', () => {
  const req = { csr: '-----BEGIN CERTIFICATE REQUEST-----\nabc\n', validityDuration: 86400 };
  expect(decodeCertificateRequest(encodeCertificateRequest(req))).toEqual(req);
  const res = { certChain: ['leaf', 'root'] };
  expect(decodeCertificateResponse(encodeCertificateResponse(res))).toEqual(res);
});

test('matches protobuf encoding of field numbers (csr=1 string, validity_duration=3 varint)', () => {
  const b = encodeCertificateRequest({ csr: 'A', validityDuration: 300 });
  expect([...b]).toEqual([0x0a, 0x01, 0x41, 0x18, 0xac, 0x02]);
});

test('unknown fields (metadata Struct = 4) are skipped, garbage throws', () => {
  const withMeta = Buffer.concat([
    encodeCertificateRequest({ csr: 'x', validityDuration: 0 }),
    Buffer.from([0x22, 0x02, 0x0a, 0x00]),
  ]);
  expect(decodeCertificateRequest(withMeta)).toEqual({ csr: 'x', validityDuration: 0 });
  expect(() => decodeCertificateRequest(Buffer.from([0x0a, 0x10, 0x41]))).toThrow(/truncated/);
  expect(() => decodeCertificateRequest(Buffer.from([0x0f]))).toThrow(/wire type/);
  expect(() => decodeCertificateRequest(Buffer.alloc(70_000))).toThrow(/64 KiB/);
});
