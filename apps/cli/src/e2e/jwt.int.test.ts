// The seed article's JWT end to end, through the ingress gateway to book-service's sidecar: the
// verbatim AuthorizationPolicy with the local-key variant of its RequestAuthentication
// (samples/bookrating/request-authentication-jwt-local.yaml; the verbatim one fetches its keys
// from a public URL). Tokens are minted here with jose and the sample's demo key.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, generateKeyPair, importPKCS8 } from 'jose';
import { ROOT, eventually, request, skipNotice, startMesh, tsmesh } from './mesh';

jest.setTimeout(300_000);
const { mesh, reason } = startMesh('jwt', {
  needed: ['pilot', 'proxy', 'gateway'],
  extraArgs: ['--manifests', 'apps/cli/src/e2e/bookrating-mesh', '--without', 'citadel,mixer'],
});
if (reason) skipNotice('jwt e2e (book/rating)', reason);
const d = mesh ? describe : describe.skip;
const m = mesh as NonNullable<typeof mesh>;
afterAll(() => mesh?.down());

const ISSUER = 'testing@secure.istio.io';
async function token(claims: Record<string, unknown>, key?: Parameters<SignJWT['sign']>[0]): Promise<string> {
  const pem = readFileSync(join(ROOT, 'samples/bookrating/jwt-local-key.pem'), 'utf8');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer(ISSUER)
    .setSubject(ISSUER)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key ?? (await importPKCS8(pem, 'RS256')));
}

d('JWT with a local JWKS through the ingress gateway', () => {
  const book = (jwt?: string) =>
    request(`http://${m.gateway}/book/1`, { headers: jwt ? { authorization: `Bearer ${jwt}` } : {} });

  test('401 for an invalid token, 403 without the role claim, 200 with role customer', async () => {
    await eventually(book, (r) => r.status === 200);
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookrating/request-authentication-jwt-local.yaml').code).toBe(0);
    expect(tsmesh(m.stateDir, 'apply', '-f', 'samples/bookrating/authorization-policy-jwt.yaml').code).toBe(0);
    const customer = await token({ role: 'customer' });
    const ok = await eventually(
      () => book(customer),
      (r) => r.status === 200,
    );
    expect(JSON.parse(ok.body)).toMatchObject({ bookId: 1, name: 'Book 1' });

    // A token signed by another key, and ours with its payload changed after signing.
    const stranger = await token({ role: 'customer' }, (await generateKeyPair('RS256')).privateKey);
    const [h, , sig] = (await token({ role: 'visitor' })).split('.');
    const payload = Buffer.from(JSON.stringify({ iss: ISSUER, sub: ISSUER, role: 'customer' })).toString('base64url');
    const tampered = `${h}.${payload}.${sig}`;
    for (const bad of [stranger, tampered]) {
      const r = await eventually(
        () => book(bad),
        (x) => x.status === 401,
      );
      expect(r.status).toBe(401);
      expect(r.body).toBe('Jwt verification fails');
    }

    const noRole = await eventually(
      async () => book(await token({ role: 'visitor' })),
      (r) => r.status === 403,
    );
    expect(noRole.body).toBe('RBAC: access denied');
    // Without any token the request has no principal: the policy denies it too.
    expect((await book()).status).toBe(403);
    expect((await book(customer)).status).toBe(200);
  });
});
