import { compileJwks, selectKeys } from './keys';
import { testSigner } from './testing';

test('compileJwks keeps usable public keys, skips other types and uses, lists malformed keys', () => {
  const errors: string[] = [];
  const keys = compileJwks(
    JSON.stringify({
      keys: [
        { kty: 'RSA', kid: 'rsa', n: 'AQAB', e: 'AQAB' },
        { kty: 'oct', kid: 'secret', k: 'c2VjcmV0' },
        { kty: 'EC', kid: 'k1', crv: 'secp256k1', x: 'AQAB', y: 'AQAB' },
        { kty: 'RSA', kid: 'enc', use: 'enc', n: 'AQAB', e: 'AQAB' },
        { kty: 'RSA', kid: 'bad', n: 42 },
        { kty: 'EC', kid: 'p384', crv: 'P-384', x: 'AQAB', y: 'AQAB', alg: 'ES384' },
        { kty: 'OKP', kid: 'ed', crv: 'Ed25519', x: 'AQAB' },
      ],
    }),
    errors,
  );
  expect(keys.map((k) => [k.kid, k.alg, k.algorithms])).toEqual([
    ['rsa', undefined, ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']],
    ['p384', 'ES384', ['ES384']],
    ['ed', undefined, ['EdDSA']],
  ]);
  expect(errors).toEqual(['keys[4]: "n", "e" must be base64url strings']);
  expect(compileJwks('{"keys":[]}', errors)).toEqual([]);
  expect(compileJwks('nope', errors)).toEqual([]);
  expect(errors.slice(1)).toEqual(['JWKS is not valid JSON']);
});

test('selectKeys: kid only excludes keys naming another kid; a key alg must equal the token alg', () => {
  const keys = compileJwks(
    JSON.stringify({
      keys: [
        { kty: 'RSA', kid: 'a', n: 'AQAB', e: 'AQAB' },
        { kty: 'RSA', n: 'AQAB', e: 'AQAB', alg: 'PS256' },
        { kty: 'EC', kid: 'b', crv: 'P-256', x: 'AQAB', y: 'AQAB' },
      ],
    }),
  );
  const names = (alg: string, kid?: string) => selectKeys(keys, alg, kid).map((k) => k.kid ?? k.alg);
  expect(names('RS256', 'a')).toEqual(['a']);
  expect(names('PS256', 'a')).toEqual(['a', 'PS256']);
  expect(names('PS256', 'zzz')).toEqual(['PS256']);
  expect(names('ES256')).toEqual(['b']);
  expect(names('ES384')).toEqual([]);
  expect(names('HS256')).toEqual([]);
  expect(names('none')).toEqual([]);
});

test('keys are imported by jose once per algorithm, public members only', async () => {
  const signer = testSigner('ES256');
  const privateJwk = { ...signer.privateKey.export({ format: 'jwk' }), kid: 'k' };
  const [key] = compileJwks(JSON.stringify({ keys: [privateJwk] }));
  const first = key.importFor('ES256');
  expect(key.importFor('ES256')).toBe(first);
  expect((await first).type).toBe('public');
});
