/**
 * Acceptance: the seed's RequestAuthentication + AuthorizationPolicy (microservicilities
 * article) through the real engine, with the filters in the form Pilot's security
 * compilers generate (apps/pilot/src/configgen/security/security.test.ts checks that form).
 * Tokens are minted here with a test key; the JWKS is inline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock, silentLogger } from '@tsmesh/core';
import { httpRequest } from '@tsmesh/testing';
import { Dataplane } from '../../../engine/dataplane';
import { startUpstream, staticClusterYaml, yamlSnapshot, type TestUpstream } from '../../../engine/testing';
import type { Msg } from '../../../engine/types';
import { registerBuiltinFilters } from '../../builtin';
import { FilterRegistry } from '../../types';
import { jwtAuthnFilter } from '../jwt_authn';
import { testSigner } from '../jwt_authn/testing';
import { rbacFilter } from './index';

const ISS = 'testing@secure.istio.io';
const signer = testSigner('RS256', 'DHFbpoIUqrY8t2zpA2qXfCmr5VO5ZEr4RzHU_-envvQ');

/**
 * What buildInboundSecurityFilters() emits for the seed; the Pilot test
 * (apps/pilot/src/configgen/security/security.test.ts) compares its output with this same file.
 */
function seedFilters(jwks: string): Msg[] {
  const text = readFileSync(join(__dirname, '__fixtures__/seed-security-filters.json'), 'utf8');
  const filters = JSON.parse(text.replace('__JWKS__', JSON.stringify(jwks).slice(1, -1))) as Msg[];
  return [
    ...filters,
    {
      name: 'envoy.filters.http.router',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
    },
  ];
}

function listener(filters: Msg[]): Msg {
  return {
    name: 'inbound_8080',
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type':
                'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'inbound_8080',
              route_config: {
                name: 'inbound|8080|http|book-service.default.svc.cluster.local',
                virtual_hosts: [
                  { name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] },
                ],
              },
              http_filters: filters,
            },
          },
        ],
      },
    ],
  };
}

let upstream: TestUpstream;
let dp: Dataplane;
let base: string;
const clock = new FakeClock(Date.now());

beforeAll(async () => {
  upstream = await startUpstream('book', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"bookId":1,"name":"Book 1","rating":3}');
  });
  const filters = new FilterRegistry();
  registerBuiltinFilters(filters).register(jwtAuthnFilter).register(rbacFilter);
  dp = new Dataplane({
    nodeId: 'sidecar~127.0.0.1~book-service.default~default.svc.cluster.local',
    logger: silentLogger(),
    filters,
    clock,
    drainMs: 50,
  });
  const snap = yamlSnapshot({ clusters: [staticClusterYaml('app', [upstream.address])] });
  snap.listeners.push(listener(seedFilters(signer.jwks)));
  await dp.apply(snap);
  base = `http://${dp.address('inbound_8080')}`;
});

afterAll(async () => {
  await dp?.stop();
  await upstream?.close();
});

const now = () => Math.floor(clock.now() / 1000);
const get = (token?: string, path = '/book/1') =>
  httpRequest(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

test('invalid token → 401 "Jwt verification fails"', async () => {
  const good = signer.mint({ iss: ISS, sub: ISS, exp: now() + 3600, role: 'customer' });
  const forged = `${good.slice(0, -4)}AAAA`;
  const r = await get(forged);
  expect(r.status).toBe(401);
  expect(r.body).toBe('Jwt verification fails');
  expect(upstream.requests).toHaveLength(0);
});

test('valid token without role: customer → 403 "RBAC: access denied"', async () => {
  const r = await get(signer.mint({ iss: ISS, sub: ISS, exp: now() + 3600, foo: 'bar' }));
  expect(r.status).toBe(403);
  expect(r.body).toBe('RBAC: access denied');
});

test('valid token with role: customer → 200 from the app, token not forwarded', async () => {
  const r = await get(signer.mint({ iss: ISS, sub: ISS, exp: now() + 3600, role: 'customer' }));
  expect(r.status).toBe(200);
  expect(r.body).toBe('{"bookId":1,"name":"Book 1","rating":3}');
  expect(upstream.requests[upstream.requests.length - 1].headers['authorization']).toBeUndefined();
});

test('no token → authn passes, the ALLOW policy on requestPrincipals refuses (403)', async () => {
  const r = await get();
  expect(r.status).toBe(403);
});

test('expired token and alg none → 401', async () => {
  expect((await get(signer.mint({ iss: ISS, sub: ISS, exp: now() - 3600, role: 'customer' }))).status).toBe(401);
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISS, sub: ISS, role: 'customer' })).toString('base64url')}.`;
  expect((await get(none)).status).toBe(401);
});
