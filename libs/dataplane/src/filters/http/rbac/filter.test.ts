import type { FieldError } from '@tsmesh/core';
import type { LocalReply } from '../../types';
import { factoryContext, fakeStream, type FakeStreamOptions } from '../jwt_authn/testing';
import { rbacFilter } from './index';

function run(config: Record<string, unknown>, stream: FakeStreamOptions) {
  const errors: FieldError[] = [];
  const parsed = rbacFilter.parseConfig(config, 'typed_config', errors);
  expect(errors).toEqual([]);
  const fctx = factoryContext('envoy.filters.http.rbac');
  const result = rbacFilter.create(parsed, fctx)().onRequest?.(fakeStream(stream)) as LocalReply | undefined;
  return { result, stats: fctx.stats };
}

const denyAdmin = {
  rules: {
    action: 'DENY',
    policies: {
      'ns[default]-policy[deny-admin]-rule[0]': {
        permissions: [
          { and_rules: { rules: [{ or_rules: { rules: [{ url_path: { path: { prefix: '/admin' } } }] } }] } },
        ],
        principals: [{ any: true }],
      },
    },
  },
};

test.each([
  '/admin',
  '/admin/users',
  '/public/../admin',
  '//admin',
  '/%2Fadmin',
  '/public/%2e%2e/admin',
  '/public/..%2Fadmin',
  '/./admin',
  '/admin?x=1',
  '/admin#frag',
  '/public\\..\\admin',
])('path trick %j does not bypass a deny on /admin', (path) => {
  const { result, stats } = run(denyAdmin, { path });
  expect(result).toMatchObject({ status: 403, body: 'RBAC: access denied' });
  expect(stats.value('http.inbound_0.0.0.0_9080.rbac.denied')).toBe(1);
});

test('other paths pass the deny policy', () => {
  const { result, stats } = run(denyAdmin, { path: '/public/index.html' });
  expect(result).toBeUndefined();
  expect(stats.value('http.inbound_0.0.0.0_9080.rbac.allowed')).toBe(1);
});

const seedAllow = {
  rules: {
    action: 'ALLOW',
    policies: {
      'ns[default]-policy[require-jwt]-rule[0]': {
        permissions: [{ and_rules: { rules: [{ any: true }] } }],
        principals: [
          {
            and_ids: {
              ids: [
                {
                  or_ids: {
                    ids: [
                      {
                        metadata: {
                          filter: 'istio_authn',
                          path: [{ key: 'request.auth.principal' }],
                          value: { string_match: { exact: 'testing@secure.istio.io/testing@secure.istio.io' } },
                        },
                      },
                    ],
                  },
                },
                {
                  or_ids: {
                    ids: [
                      {
                        metadata: {
                          filter: 'istio_authn',
                          path: [{ key: 'request.auth.claims' }, { key: 'role' }],
                          value: { list_match: { one_of: { string_match: { exact: 'customer' } } } },
                        },
                      },
                    ],
                  },
                },
              ],
            },
          },
        ],
      },
    },
  },
};

const authn = (claims: Record<string, unknown>) => ({
  istio_authn: { 'request.auth.principal': `${claims['iss']}/${claims['sub']}`, 'request.auth.claims': claims },
});

test('seed policy: requestPrincipal + claim role=customer', () => {
  const iss = 'testing@secure.istio.io';
  expect(run(seedAllow, { metadata: authn({ iss, sub: iss, role: 'customer' }) }).result).toBeUndefined();
  expect(run(seedAllow, { metadata: authn({ iss, sub: iss, role: ['admin', 'customer'] }) }).result).toBeUndefined();
  expect(run(seedAllow, { metadata: authn({ iss, sub: iss, foo: 'bar' }) }).result).toMatchObject({ status: 403 });
  expect(run(seedAllow, { metadata: authn({ iss: 'x', sub: iss, role: 'customer' }) }).result).toMatchObject({
    status: 403,
  });
  expect(run(seedAllow, {}).result).toMatchObject({ status: 403, body: 'RBAC: access denied' });
});

test('principals: mTLS identity, NUL in SAN, source IP, namespaces via regex', () => {
  const cfg = {
    rules: {
      action: 'ALLOW',
      policies: {
        p: {
          permissions: [{ any: true }],
          principals: [
            { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/productpage' } } },
            { authenticated: { principal_name: { safe_regex: { regex: 'spiffe://cluster\\.local/ns/shop/.*' } } } },
            { direct_remote_ip: { address_prefix: '192.168.0.0', prefix_len: 16 } },
          ],
        },
      },
    },
  };
  expect(run(cfg, { peerIdentity: 'spiffe://cluster.local/ns/default/sa/productpage' }).result).toBeUndefined();
  expect(run(cfg, { peerIdentity: 'spiffe://cluster.local/ns/shop/sa/order' }).result).toBeUndefined();
  expect(run(cfg, { peerIdentity: 'spiffe://cluster.local/ns/default/sa/productpage\u0000evil' }).result).toMatchObject(
    { status: 403 },
  );
  expect(run(cfg, { peerIdentity: 'spiffe://cluster.local/ns/default/sa/reviews' }).result).toMatchObject({
    status: 403,
  });
  expect(run(cfg, { remoteAddress: '192.168.3.4' }).result).toBeUndefined();
  expect(run(cfg, { remoteAddress: '::ffff:192.168.3.4' }).result).toBeUndefined();
  expect(run(cfg, { remoteAddress: '10.1.1.1' }).result).toMatchObject({ status: 403 });
});

test('permissions: method (case-insensitive input), host ignoring case, port, header; not_rule', () => {
  const cfg = {
    rules: {
      action: 'ALLOW',
      policies: {
        p: {
          permissions: [
            {
              and_rules: {
                rules: [
                  { header: { name: ':method', string_match: { exact: 'GET' } } },
                  { header: { name: ':authority', string_match: { exact: 'httpbin.foo', ignore_case: true } } },
                  { destination_port: 9080 },
                  { not_rule: { header: { name: 'x-block', present_match: true } } },
                ],
              },
            },
          ],
          principals: [{ any: true }],
        },
      },
    },
  };
  expect(run(cfg, { authority: 'Httpbin.Foo' }).result).toBeUndefined();
  expect(run(cfg, { authority: 'httpbin.foo', method: 'get' }).result).toBeUndefined();
  expect(run(cfg, { authority: 'httpbin.foo', method: 'POST' }).result).toMatchObject({ status: 403 });
  expect(run(cfg, { authority: 'httpbin.foo', localPort: 9090 }).result).toMatchObject({ status: 403 });
  expect(run(cfg, { authority: 'httpbin.foo', headers: { 'x-block': '1' } }).result).toMatchObject({ status: 403 });
});

test('an ALLOW filter with no policies denies everything; shadow rules only count', () => {
  expect(run({ rules: { action: 'ALLOW', policies: {} } }, {}).result).toMatchObject({ status: 403 });
  const { result, stats } = run({ shadow_rules: denyAdmin.rules }, { path: '/admin' });
  expect(result).toBeUndefined();
  expect(stats.value('http.inbound_0.0.0.0_9080.rbac.shadow_denied')).toBe(1);
});

test('config errors are field-addressed', () => {
  const errors: FieldError[] = [];
  rbacFilter.parseConfig(
    {
      rules: {
        action: 'ALLOW',
        policies: { p: { permissions: [{ bogus: 1 }], principals: [{ source_ip: { address_prefix: 'nope' } }] } },
      },
    },
    'tc',
    errors,
  );
  expect(errors.map((e) => e.path)).toEqual([
    'tc.rules.policies.p.permissions[0]',
    'tc.rules.policies.p.principals[0].source_ip.address_prefix',
  ]);
});

test('a repeated header cannot hide from a DENY header rule', () => {
  const cfg = {
    rules: {
      action: 'DENY',
      policies: {
        p: {
          permissions: [{ header: { name: 'x-env', string_match: { contains: 'prod' } } }],
          principals: [{ any: true }],
        },
      },
    },
  };
  expect(run(cfg, { headers: { 'x-env': ['prod', 'prod'] } }).result).toMatchObject({ status: 403 });
  expect(run(cfg, { headers: { 'x-env': 'dev' } }).result).toBeUndefined();
});
