// Workspace check: jose ships ESM only; the Jest preset must transform it so JWT code can use it in tests.
import { SignJWT, jwtVerify, generateKeyPair } from 'jose';

test('jose signs and verifies under the workspace Jest transform', async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const token = await new SignJWT({ role: 'customer' })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer('testing@secure.istio.io')
    .sign(privateKey);
  const { payload } = await jwtVerify(token, publicKey, { issuer: 'testing@secure.istio.io' });
  expect(payload['role']).toBe('customer');
});
