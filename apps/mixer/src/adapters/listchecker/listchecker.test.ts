import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseIp } from '@tsmesh/attributes';
import { createRegistry, FakeClock, GrpcStatus, silentLogger } from '@tsmesh/core';
import { waitFor } from '@tsmesh/testing';
import type { AdapterEnv, Instance } from '../../runtime/types';
import { listcheckerAdapter } from './index';

const env = (clock = new FakeClock()): AdapterEnv => ({
  handlerName: 'list.listchecker.istio-system',
  clock,
  logger: silentLogger(),
  selfRegistry: createRegistry(false),
  promRegistry: createRegistry(false),
  quotaBackendUnavailable: 'grant',
});
const entry = (value: unknown): Instance => ({
  name: 'e.listentry.istio-system',
  template: 'listentry',
  fields: { value: value as string },
  types: {},
});

async function codeOf(params: Record<string, unknown>, value: unknown, e = env()) {
  const h = await listcheckerAdapter.build(params, e);
  const r = await h.handleCheck?.(entry(value));
  await h.close?.();
  return r?.status.code;
}

describe('listchecker', () => {
  it.each([
    ['STRINGS', ['v1', 'v2'], 'v1', 'V1'],
    ['CASE_INSENSITIVE_STRINGS', ['v1'], 'V1', 'v3'],
    ['IP_ADDRESSES', ['10.0.0.0/8', '192.168.1.7'], parseIp('10.2.3.4'), '192.168.1.8'],
    ['REGEX', ['^v[12]$'], 'v2', 'v22'],
  ])('%s whitelist: listed passes, unlisted is NOT_FOUND', async (entryType, overrides, listed, unlisted) => {
    const params = { entryType, overrides, blacklist: false };
    expect(await codeOf(params, listed)).toBe(GrpcStatus.OK);
    expect(await codeOf(params, unlisted)).toBe(GrpcStatus.NOT_FOUND);
  });

  it('blacklist: listed is PERMISSION_DENIED', async () => {
    expect(await codeOf({ overrides: ['bad'], blacklist: true }, 'bad')).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(await codeOf({ overrides: ['bad'], blacklist: true }, 'good')).toBe(GrpcStatus.OK);
  });

  it('validates entries and params with paths', () => {
    expect(listcheckerAdapter.validate({ entryType: 'IP_ADDRESSES', overrides: ['10.0.0.0/33'] })).toEqual([
      { path: 'overrides[0]', message: '"10.0.0.0/33" is not an IP address or CIDR' },
    ]);
    expect(listcheckerAdapter.validate({ entryType: 'NOPE', overrides: [] }).map((e) => e.path)).toEqual(['entryType']);
  });

  describe('provider URL', () => {
    let server: Server;
    let body = 'v1\nv2\n';
    let status = 200;
    let url = '';
    beforeAll(async () => {
      server = createServer((_req, res) => res.writeHead(status).end(body));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/list`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('fetches the list, refreshes it, and answers UNAVAILABLE once it is older than ttl', async () => {
      const clock = new FakeClock();
      const h = await listcheckerAdapter.build({ providerUrl: url, refreshInterval: '10s', ttl: '30s' }, env(clock));
      try {
        expect((await h.handleCheck?.(entry('v2')))?.status.code).toBe(GrpcStatus.OK);
        expect((await h.handleCheck?.(entry('v3')))?.status.code).toBe(GrpcStatus.NOT_FOUND);
        body = 'v3\n';
        await clock.advanceAsync(10_000);
        await waitFor(async () => (await h.handleCheck?.(entry('v3')))?.status.code === GrpcStatus.OK, {
          timeoutMs: 5000,
        });
        status = 500;
        clock.advance(40_000);
        expect((await h.handleCheck?.(entry('v3')))?.status.code).toBe(GrpcStatus.UNAVAILABLE);
      } finally {
        await h.close?.();
      }
    });
  });
});
