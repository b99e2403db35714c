/**
 * Test support for the security filters (imported by tests only): mint JWTs
 * with a local key and a matching JWKS (signed with Node's crypto, so tokens do
 * not come from the library that verifies them), and a minimal HttpStreamContext.
 */
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { FakeClock, silentLogger } from '@tsmesh/core';
import type { HeaderMap } from '../../../http/header-ops';
import type { StreamInfo } from '../../../http/stream-info';
import { StatsStore } from '../../../stats/store';
import type { DownstreamConnection, FilterFactoryContext, HttpStreamContext } from '../../types';

export interface TestSigner {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  jwks: string;
  mint(payload: Record<string, unknown>, header?: Record<string, unknown>): string;
}

export function testSigner(alg: 'RS256' | 'ES256' | 'PS256' | 'EdDSA' = 'RS256', kid = 'test-key'): TestSigner {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  return {
    kid,
    alg,
    privateKey: pair.privateKey,
    jwks: JSON.stringify({ keys: [jwk] }),
    mint(payload, header = {}) {
      const h = Buffer.from(JSON.stringify({ alg, kid, typ: 'JWT', ...header })).toString('base64url');
      const p = Buffer.from(JSON.stringify(payload)).toString('base64url');
      const input = Buffer.from(`${h}.${p}`);
      const sig =
        alg === 'EdDSA'
          ? sign(null, input, pair.privateKey)
          : alg === 'ES256'
            ? sign('sha256', input, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' })
            : alg === 'PS256'
              ? sign('sha256', input, {
                  key: pair.privateKey,
                  padding: constants.RSA_PKCS1_PSS_PADDING,
                  saltLength: 32,
                })
              : sign('sha256', input, pair.privateKey);
      return `${h}.${p}.${sig.toString('base64url')}`;
    },
  };
}

export interface FakeStreamOptions {
  method?: string;
  path?: string;
  authority?: string;
  headers?: HeaderMap;
  peerIdentity?: string;
  remoteAddress?: string;
  localPort?: number;
  perRoute?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export function fakeStream(o: FakeStreamOptions = {}): HttpStreamContext {
  const connection: DownstreamConnection = {
    remoteAddress: o.remoteAddress ?? '10.0.0.1',
    remotePort: 40000,
    localAddress: '10.0.0.2',
    localPort: o.localPort ?? 9080,
    tls: o.peerIdentity !== undefined,
    peerIdentity: o.peerIdentity,
    getPeerIdentity: () => o.peerIdentity,
  };
  const info = { dynamicMetadata: { ...(o.metadata ?? {}) }, responseFlags: [] } as unknown as StreamInfo;
  return {
    method: o.method ?? 'GET',
    scheme: 'http',
    authority: o.authority ?? 'book-service',
    path: o.path ?? '/',
    headers: { ...(o.headers ?? {}) },
    route: null,
    info,
    connection,
    isGrpc: false,
    perRouteConfig: <T>(name: string) => o.perRoute?.[name] as T | undefined,
    setResponseFlag: () => undefined,
    clearRouteCache: () => undefined,
  };
}

export function factoryContext(
  filterName: string,
  clock = new FakeClock(Date.now()),
): FilterFactoryContext & { stats: StatsStore } {
  return {
    statPrefix: 'inbound_0.0.0.0_9080',
    stats: new StatsStore(),
    clock,
    random: { next: () => 0.5 },
    logger: silentLogger(),
    nodeId: 'test',
    filterName,
  };
}
