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

function run(config: Record<string, unknown>, stream: FakeStreamOptions) {
  const errors: FieldError[] = [];
  const parsed = jwtAuthnFilter.parseConfig(config, 'typed_config', errors);
  expect(errors).toEqual([]);
  const fctx = factoryContext('envoy.filters.http.jwt_authn', new FakeClock(NOW));
  const ctx = fakeStream(stream);
  const result = jwtAuthnFilter.create(parsed, fctx)().onRequest?.(ctx) as LocalReply | undefined;
  return { result, ctx, stats: fctx.stats };
}

const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

test('valid RS256 and ES256 tokens pass; claims land in metadata; token removed unless forward', () => {
  const { result, ctx, stats } = run(istioLikeConfig(), bearer(signer.mint(claims({ role: 'customer' }))));
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
  const ec = run(istioLikeConfig({ forward: true }), bearer(ecSigner.mint(claims())));
  expect(ec.result).toBeUndefined();
  expect(ec.ctx.headers['authorization']).toBeDefined();
});

test('a missing token passes allow_missing with no identity', () => {
  const { result, ctx } = run(istioLikeConfig(), {});
  expect(result).toBeUndefined();
  expect(ctx.info.dynamicMetadata[ISTIO_AUTHN_NAMESPACE]).toBeUndefined();
});

test('a missing token fails a provider-only requirement with "Jwt is missing"', () => {
  const { result } = run(istioLikeConfig({}, { provider_name: 'origins-0' }), {});
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
])('%s → 401 "Jwt verification fails"', (_name, token, detail) => {
  const { result, stats } = run(istioLikeConfig(), bearer(token()));
  expect(result).toMatchObject({ status: 401, body: 'Jwt verification fails' });
  expect((result as LocalReply).details).toMatch(new RegExp(detail));
  expect(stats.value('http.inbound_0.0.0.0_9080.jwt_authn.denied')).toBe(1);
});

test('audiences: required audience must be present', () => {
  const cfg = istioLikeConfig({ audiences: ['bookstore'] });
  expect(run(cfg, bearer(signer.mint(claims({ aud: ['bookstore', 'x'] })))).result).toBeUndefined();
  expect(run(cfg, bearer(signer.mint(claims({ aud: 'other' })))).result).toMatchObject({ status: 401 });
  expect(run(cfg, bearer(signer.mint(claims()))).result).toMatchObject({ status: 401 });
});

test('from_headers with prefix and from_params locations', () => {
  const cfg = istioLikeConfig({
    from_headers: [{ name: 'x-jwt-assertion', value_prefix: '' }],
    from_params: ['token'],
  });
  expect(run(cfg, { headers: { 'x-jwt-assertion': signer.mint(claims()) } }).result).toBeUndefined();
  const viaParam = run(cfg, { path: `/book/1?token=${signer.mint(claims())}&x=1` });
  expect(viaParam.result).toBeUndefined();
  expect(viaParam.ctx.path).toBe('/book/1?x=1');
  expect(run(cfg, { path: '/book/1?token=garbage' }).result).toMatchObject({ status: 401 });
  // Authorization is not a configured location here, so it is ignored (missing → allowed).
  expect(run(cfg, bearer('garbage')).result).toBeUndefined();
});

test('two Authorization values are a deterministic 401', () => {
  const t = signer.mint(claims());
  expect(run(istioLikeConfig(), { headers: { authorization: [`Bearer ${t}`, `Bearer ${t}`] } }).result).toMatchObject({
    status: 401,
  });
});

test('rules match the path without query or fragment; exempt routes and per-route disable', () => {
  const cfg = {
    ...istioLikeConfig(),
    rules: [
      { match: { path: '/healthz' } },
      { match: { path: '/productpage' }, requires: { provider_name: 'origins-0' } },
    ],
  };
  expect(run(cfg, { path: '/productpage?x' }).result).toMatchObject({ status: 401 });
  expect(run(cfg, { path: '/productpage#x' }).result).toMatchObject({ status: 401 });
  expect(run(cfg, { path: '/healthz', headers: { authorization: 'Bearer garbage' } }).result).toBeUndefined();
  expect(run(cfg, { path: '/other' }).result).toBeUndefined();
  expect(
    run(cfg, { path: '/productpage', perRoute: { 'envoy.filters.http.jwt_authn': { disabled: true } } }).result,
  ).toBeUndefined();
});

test('config errors: remote_jwks, unknown provider, bad JWKS', () => {
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

test('requires_all and allow_missing_or_failed', () => {
  const cfg = istioLikeConfig({}, { allow_missing_or_failed: {} });
  expect(run(cfg, bearer('garbage')).result).toBeUndefined();
  const ok = run(cfg, bearer(signer.mint(claims())));
  expect(ok.ctx.info.dynamicMetadata[ISTIO_AUTHN_NAMESPACE]).toBeDefined();
});

test('from_cookies and claim_to_headers (CR/LF in a claim never reaches a header)', () => {
  const cfg = istioLikeConfig({
    from_cookies: ['session'],
    claim_to_headers: [
      { header_name: 'x-jwt-role', claim_name: 'role' },
      { header_name: 'x-jwt-evil', claim_name: 'evil' },
    ],
  });
  const token = signer.mint(claims({ role: 'customer', evil: 'a\r\nx-injected: 1' }));
  const ok = run(cfg, { headers: { cookie: `a=b; session=${token}` } });
  expect(ok.result).toBeUndefined();
  expect(ok.ctx.headers['x-jwt-role']).toBe('customer');
  expect(ok.ctx.headers['x-jwt-evil']).toBeUndefined();
  expect(run(cfg, { headers: { cookie: 'session=garbage' } }).result).toMatchObject({ status: 401 });
  expect(run(cfg, { headers: { cookie: `session=${token}; session=${token}` } }).result).toMatchObject({ status: 401 });
});
