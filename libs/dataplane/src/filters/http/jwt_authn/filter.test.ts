import { createPublicKey } from 'node:crypto';
import type { FieldError } from '@tsmesh/core';
import { FakeClock } from '@tsmesh/core';
import type { LocalReply } from '../../types';
import { jwtAuthnFilter } from './index';
import { ISTIO_AUTHN_NAMESPACE, JWT_METADATA_NAMESPACE } from './metadata';
import { factoryContext, fakeStream, testSigner, type FakeStreamOptions } from './testing';

const ISS = 'testing@secure.istio.io';
const NOW = Date.parse('2026-06-01T00:00:00Z');
const signer = testSigner('RS256');
const ecSigner = testSigner('ES256', 'ec-key');
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: ISS,
  sub: ISS,
  exp: NOW / 1000 + 3600,
  iat: NOW / 1000,
  ...extra,
});

function istioLikeConfig(provider: Record<string, unknown> = {}, requires?: Record<string, unknown>) {
  return {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
    providers: {
      'origins-0': {
        issuer: ISS,
        local_jwks: {
          inline_string: JSON.stringify({ keys: [...JSON.parse(signer.jwks).keys, ...JSON.parse(ecSigner.jwks).keys] }),
        },
        payload_in_metadata: ISS,
        ...provider,
      },
    },
    rules: [
      {
        match: { prefix: '/' },
        requires: requires ?? {
          requires_any: { requirements: [{ provider_name: 'origins-0' }, { allow_missing: {} }] },
        },
      },
    ],
  };
}

async function run(config: Record<string, unknown>, stream: FakeStreamOptions) {
  const errors: FieldError[] = [];
  const parsed = jwtAuthnFilter.parseConfig(config, 'typed_config', errors);
  expect(errors).toEqual([]);
  const fctx = factoryContext('envoy.filters.http.jwt_authn', new FakeClock(NOW));
  const ctx = fakeStream(stream);
  const result = (await jwtAuthnFilter.create(parsed, fctx)().onRequest?.(ctx)) as LocalReply | undefined;
  return { result, ctx, stats: fctx.stats };
}

const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

test('valid RS256 and ES256 tokens pass; claims land in metadata; token removed unless forward', async () => {
  const { result, ctx, stats } = await run(istioLikeConfig(), bearer(signer.mint(claims({ role: 'customer' }))));
  expect(result).toBeUndefined();
  expect(ctx.info.dynamicMetadata[ISTIO_AUTHN_NAMESPACE]).toMatchObject({
    'request.auth.principal': `${ISS}/${ISS}`,
    'request.auth.claims': { role: 'customer' },
  });
  expect((ctx.info.dynamicMetadata[JWT_METADATA_NAMESPACE] as Record<string, unknown>)[ISS]).toMatchObject({
    iss: ISS,
  });
  expect(ctx.headers['authorization']).toBeUndefined();
  expect(stats.value('http.inbound_0.0.0.0_9080.jwt_authn.allowed')).toBe(1);
  const ec = await run(istioLikeConfig({ forward: true }), bearer(ecSigner.mint(claims())));
  expect(ec.result).toBeUndefined();
  expect(ec.ctx.headers['authorization']).toBeDefined();
});

test('a missing token passes allow_missing with no identity', async () => {
  const { result, ctx } = await run(istioLikeConfig(), {});
  expect(result).toBeUndefined();
  expect(ctx.info.dynamicMetadata[ISTIO_AUTHN_NAMESPACE]).toBeUndefined();
});

test('a missing token fails a provider-only requirement with "Jwt is missing"', async () => {
  const { result } = await run(istioLikeConfig({}, { provider_name: 'origins-0' }), {});
  expect(result).toMatchObject({ status: 401, body: 'Jwt is missing' });
});

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const other = testSigner('RS256');

test.each([
  ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`, 'alg'],
  [
    'HS256 signed with the public key as secret',
    () => {
      const h = b64({ alg: 'HS256', kid: 'test-key' });
      const p = b64(claims());
      const mac = require('node:crypto').createHmac('sha256', signer.jwks).update(`${h}.${p}`).digest('base64url');
      return `${h}.${p}.${mac}`;
    },
    'alg',
  ],
  ['forged signature (other key, same kid)', () => other.mint(claims(), { kid: 'test-key' }), 'Jwt_verification_fails'],
  [
    'tampered payload',
    () => {
      const [h, , s] = signer.mint(claims()).split('.');
      return `${h}.${b64(claims({ role: 'admin' }))}.${s}`;
    },
    'Jwt_verification_fails',
  ],
  ['expired', () => signer.mint(claims({ exp: NOW / 1000 - 120 })), 'expired'],
  ['not yet valid', () => signer.mint(claims({ nbf: NOW / 1000 + 120 })), 'not_yet_valid'],
  ['wrong issuer', () => signer.mint(claims({ iss: 'evil@example.com' })), 'issuer'],
  ['unknown kid', () => signer.mint(claims(), { kid: 'nope' }), 'kid'],
  ['malformed base64', () => 'a.b!.c', 'form'],
  ['non-JSON header', () => `${Buffer.from('not json').toString('base64url')}.${b64(claims())}.x`, 'header'],
  ['1 MB token', () => 'a'.repeat(1024 * 1024), 'too_large'],
  ['two segments', () => 'abc.def', 'form'],
])('%s → 401 "Jwt verification fails"', async (_name, token, detail) => {
  const { result, stats } = await run(istioLikeConfig(), bearer(token()));
  expect(result).toMatchObject({ status: 401, body: 'Jwt verification fails' });
  expect((result as LocalReply).details).toMatch(new RegExp(detail));
  expect(stats.value('http.inbound_0.0.0.0_9080.jwt_authn.denied')).toBe(1);
});

test('audiences: required audience must be present', async () => {
  const cfg = istioLikeConfig({ audiences: ['bookstore'] });
  expect((await run(cfg, bearer(signer.mint(claims({ aud: ['bookstore', 'x'] }))))).result).toBeUndefined();
  expect((await run(cfg, bearer(signer.mint(claims({ aud: 'other' }))))).result).toMatchObject({ status: 401 });
  expect((await run(cfg, bearer(signer.mint(claims())))).result).toMatchObject({ status: 401 });
});

test('from_headers with prefix and from_params locations', async () => {
  const cfg = istioLikeConfig({
    from_headers: [{ name: 'x-jwt-assertion', value_prefix: '' }],
    from_params: ['token'],
  });
  expect((await run(cfg, { headers: { 'x-jwt-assertion': signer.mint(claims()) } })).result).toBeUndefined();
  const viaParam = await run(cfg, { path: `/book/1?token=${signer.mint(claims())}&x=1` });
  expect(viaParam.result).toBeUndefined();
  expect(viaParam.ctx.path).toBe('/book/1?x=1');
  expect((await run(cfg, { path: '/book/1?token=garbage' })).result).toMatchObject({ status: 401 });
  // Authorization is not a configured location here, so it is ignored (missing → allowed).
  expect((await run(cfg, bearer('garbage'))).result).toBeUndefined();
});

test('two Authorization values are a deterministic 401', async () => {
  const t = signer.mint(claims());
  expect(
    (await run(istioLikeConfig(), { headers: { authorization: [`Bearer ${t}`, `Bearer ${t}`] } })).result,
  ).toMatchObject({
    status: 401,
  });
});

test('rules match the path without query or fragment; exempt routes and per-route disable', async () => {
  const cfg = {
    ...istioLikeConfig(),
    rules: [
      { match: { path: '/healthz' } },
      { match: { path: '/productpage' }, requires: { provider_name: 'origins-0' } },
    ],
  };
  expect((await run(cfg, { path: '/productpage?x' })).result).toMatchObject({ status: 401 });
  expect((await run(cfg, { path: '/productpage#x' })).result).toMatchObject({ status: 401 });
  expect((await run(cfg, { path: '/healthz', headers: { authorization: 'Bearer garbage' } })).result).toBeUndefined();
  expect((await run(cfg, { path: '/other' })).result).toBeUndefined();
  expect(
    (await run(cfg, { path: '/productpage', perRoute: { 'envoy.filters.http.jwt_authn': { disabled: true } } })).result,
  ).toBeUndefined();
});

test('config errors: remote_jwks, unknown provider, bad JWKS', async () => {
  const errors: FieldError[] = [];
  jwtAuthnFilter.parseConfig(
    {
      providers: {
        a: { issuer: 'x', remote_jwks: { http_uri: { uri: 'https://x' } } },
        b: { issuer: 'y', local_jwks: { inline_string: 'not json' } },
      },
      rules: [{ match: { prefix: '/' }, requires: { provider_name: 'zzz' } }],
    },
    'typed_config',
    errors,
  );
  expect(errors.map((e) => e.path)).toEqual(
    expect.arrayContaining([
      'typed_config.providers.a.remote_jwks',
      'typed_config.providers.b.local_jwks',
      'typed_config.rules[0].requires.provider_name',
    ]),
  );
});

test('requires_all and allow_missing_or_failed', async () => {
  const cfg = istioLikeConfig({}, { allow_missing_or_failed: {} });
  expect((await run(cfg, bearer('garbage'))).result).toBeUndefined();
  const ok = await run(cfg, bearer(signer.mint(claims())));
  expect(ok.ctx.info.dynamicMetadata[ISTIO_AUTHN_NAMESPACE]).toBeDefined();
});

test('from_cookies and claim_to_headers (CR/LF in a claim never reaches a header)', async () => {
  const cfg = istioLikeConfig({
    from_cookies: ['session'],
    claim_to_headers: [
      { header_name: 'x-jwt-role', claim_name: 'role' },
      { header_name: 'x-jwt-evil', claim_name: 'evil' },
    ],
  });
  const token = signer.mint(claims({ role: 'customer', evil: 'a\r\nx-injected: 1' }));
  const ok = await run(cfg, { headers: { cookie: `a=b; session=${token}` } });
  expect(ok.result).toBeUndefined();
  expect(ok.ctx.headers['x-jwt-role']).toBe('customer');
  expect(ok.ctx.headers['x-jwt-evil']).toBeUndefined();
  expect((await run(cfg, { headers: { cookie: 'session=garbage' } })).result).toMatchObject({ status: 401 });
  expect((await run(cfg, { headers: { cookie: `session=${token}; session=${token}` } })).result).toMatchObject({
    status: 401,
  });
});

test('the request waits only when a token reaches signature verification', async () => {
  const errors: FieldError[] = [];
  const parsed = jwtAuthnFilter.parseConfig(istioLikeConfig(), 'typed_config', errors);
  const filter = jwtAuthnFilter.create(parsed, factoryContext('envoy.filters.http.jwt_authn', new FakeClock(NOW)))();
  expect(filter.onRequest?.(fakeStream({}))).toBeUndefined();
  expect(filter.onRequest?.(fakeStream(bearer('abc.def')))).toMatchObject({ status: 401 });
  const pending = filter.onRequest?.(fakeStream(bearer(signer.mint(claims())))) as Promise<unknown>;
  expect(typeof pending.then).toBe('function');
  await expect(pending).resolves.toBeUndefined();
});

test('clock skew: 60 s by default (also when 0), else clock_skew_seconds; "now" is the filter clock', async () => {
  const expired30s = signer.mint(claims({ exp: NOW / 1000 - 30 }));
  const early30s = signer.mint(claims({ nbf: NOW / 1000 + 30 }));
  for (const token of [expired30s, early30s]) {
    expect((await run(istioLikeConfig(), bearer(token))).result).toBeUndefined();
    expect((await run(istioLikeConfig({ clock_skew_seconds: 0 }), bearer(token))).result).toBeUndefined();
  }
  const strict = istioLikeConfig({ clock_skew_seconds: 10 });
  expect((await run(strict, bearer(expired30s))).result?.details).toMatch(/expired/);
  expect((await run(strict, bearer(early30s))).result?.details).toMatch(/not_yet_valid/);
});

test.each(['PS256', 'EdDSA'] as const)('%s tokens verify against their JWKS', async (alg) => {
  const s = testSigner(alg, `${alg}-key`);
  const cfg = istioLikeConfig({ local_jwks: { inline_string: s.jwks } });
  expect((await run(cfg, bearer(s.mint(claims())))).result).toBeUndefined();
  expect((await run(cfg, bearer(signer.mint(claims(), { kid: `${alg}-key` })))).result).toMatchObject({ status: 401 });
});

test('keys as Envoy selects them: a key without kid is tried, keys in order, PEM public key', async () => {
  const withoutKid = (jwks: string) => {
    const { kid: _kid, ...key } = JSON.parse(jwks).keys[0];
    return key;
  };
  const cfg = istioLikeConfig({
    local_jwks: { inline_string: JSON.stringify({ keys: [withoutKid(other.jwks), withoutKid(signer.jwks)] }) },
  });
  expect((await run(cfg, bearer(signer.mint(claims(), { kid: 'rotated' })))).result).toBeUndefined();
  const pem = createPublicKey(signer.privateKey).export({ type: 'spki', format: 'pem' }).toString();
  const pemCfg = istioLikeConfig({ local_jwks: { inline_string: pem } });
  expect((await run(pemCfg, bearer(signer.mint(claims())))).result).toBeUndefined();
  expect((await run(pemCfg, bearer(other.mint(claims())))).result).toMatchObject({ status: 401 });
});

test('provider_and_audiences replaces the provider audiences', async () => {
  const cfg = istioLikeConfig(
    { audiences: ['bookstore'] },
    { provider_and_audiences: { provider_name: 'origins-0', audiences: ['orders'] } },
  );
  expect((await run(cfg, bearer(signer.mint(claims({ aud: 'orders' }))))).result).toBeUndefined();
  const r = (await run(cfg, bearer(signer.mint(claims({ aud: 'bookstore' }))))).result;
  expect(r).toMatchObject({ status: 401, body: 'Jwt verification fails' });
  expect(r?.details).toMatch(/Audiences/);
});

test('a bad clock_skew_seconds is a config error', () => {
  const errors: FieldError[] = [];
  jwtAuthnFilter.parseConfig(istioLikeConfig({ clock_skew_seconds: -1 }), 'typed_config', errors);
  expect(errors.map((e) => e.path)).toEqual(['typed_config.providers.origins-0.clock_skew_seconds']);
});
