import { parseTokensFile } from './bootstrap-tokens';
import { bearerToken } from './authenticator';

test('tokens file: comments and blank lines ignored, bad lines named', () => {
  expect(parseTokensFile('# x\n\nabcdefghijklmnopq default/productpage\n')).toHaveLength(1);
  expect(() => parseTokensFile('short default/x')).toThrow(/line 1/);
  expect(() => parseTokensFile('abcdefghijklmnopq default')).toThrow(/line 1/);
  expect(() => parseTokensFile('ok\nabcdefghijklmnopq Default/X')).toThrow(/line 1/);
});

test('bearer token extraction', () => {
  expect(bearerToken('Bearer abc')).toBe('abc');
  expect(bearerToken('bearer abc')).toBe('abc');
  expect(bearerToken('Basic abc')).toBeNull();
  expect(bearerToken('Bearer a b')).toBeNull();
  expect(bearerToken(undefined)).toBeNull();
});
