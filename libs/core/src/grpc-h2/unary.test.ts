import { grpcTimeout } from './unary';

test('grpc-timeout: at most 8 digits, in milliseconds while they fit', () => {
  expect(grpcTimeout(1000)).toBe('1000m');
  expect(grpcTimeout(0.2)).toBe('1m');
  expect(grpcTimeout(-5)).toBe('1m');
  expect(grpcTimeout(99_999_999)).toBe('99999999m');
  expect(grpcTimeout(100_000_000)).toBe('100000S');
  expect(grpcTimeout(1e20)).toBe('99999999H');
});
