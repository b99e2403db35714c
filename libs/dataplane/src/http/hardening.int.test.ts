import net from 'node:net';
import type http from 'node:http';
import { FakeClock } from '@tsmesh/core';
import { httpRequest } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  until,
  yamlSnapshot,
  type TestUpstream,
} from '../engine/testing';

/** Sends raw bytes, returns everything the proxy wrote until it closed (or 3 s passed). */
function raw(address: string, text: string | Buffer): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const s = net.connect(Number(port), host);
    const chunks: Buffer[] = [];
    const done = () => resolve(Buffer.concat(chunks).toString('latin1'));
    s.on('data', (c) => chunks.push(c));
    s.on('close', done);
    s.on('error', done);
    s.setTimeout(3000, () => s.destroy());
    s.write(text);
  });
}

const ROUTES = `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /admin}
    direct_response: {status: 403, body: {inline_string: denied}}
  - match: {prefix: /}
    route: {cluster: c}
`;

describe('hardening: malformed and hostile requests never reach the upstream', () => {
  let dp: Dataplane;
  let u: TestUpstream;
  let addr: string;

  beforeAll(async () => {
    u = await startUpstream('u');
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [
          httpListenerYaml('l', 'r'),
          httpListenerYaml('edge', 'r', [], 'use_remote_address: true\nrequest_headers_timeout: 1s').replace(
            'name: edge\n',
            'name: edge\n',
          ),
        ],
        routes: [ROUTES],
        clusters: [staticClusterYaml('c', [u.address])],
      }),
    );
    addr = dp.address('l') as string;
  });
  afterAll(async () => {
    await dp.stop();
    await u.close();
  });
  beforeEach(() => {
    u.requests.length = 0;
  });

  it('answers 431 to more than 100 headers', async () => {
    const hs = Array.from({ length: 101 }, (_, i) => `x-h${i}: v\r\n`).join('');
    const out = await raw(addr, `GET / HTTP/1.1\r\nhost: a\r\n${hs}\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 431 /);
    expect(u.requests).toHaveLength(0);
  });

  it('answers 431 to headers larger than 60 KiB', async () => {
    const out = await raw(addr, `GET / HTTP/1.1\r\nhost: a\r\nx-big: ${'a'.repeat(61 * 1024)}\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 431 /);
    expect(u.requests).toHaveLength(0);
  });

  it('accepts 60 KiB minus a little (the limit is on purpose, not node’s 16 KiB default)', async () => {
    const out = await raw(
      addr,
      `GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\nx-big: ${'a'.repeat(40 * 1024)}\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('rejects Content-Length together with Transfer-Encoding (smuggling) with 400', async () => {
    const out = await raw(
      addr,
      `POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: a\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(u.requests).toHaveLength(0);
  });

  it('rejects conflicting Content-Length headers with 400', async () => {
    const out = await raw(addr, `POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\ncontent-length: 5\r\n\r\nabcde`);
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(u.requests).toHaveLength(0);
  });

  it.each([
    ['NUL', 'x-a: b\u0000c'],
    ['bare CR', 'x-a: b\rc'],
    ['LF splitting a value', 'x-a: b\nx-injected: 1'],
  ])('rejects %s in a header value with 400', async (_n, line) => {
    const out = await raw(addr, `GET / HTTP/1.1\r\nhost: a\r\n${line}\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(
      u.requests.filter((r) => r.headers['x-injected'] !== undefined || r.headers['x-a'] !== undefined),
    ).toHaveLength(0);
  });

  it('rejects HTTP/1.1 without Host with 400', async () => {
    const out = await raw(addr, `GET / HTTP/1.1\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(u.requests).toHaveLength(0);
  });

  it('normalizes the path before routing and forwards the same normalized path', async () => {
    const out = await raw(addr, `GET /public/..//admin/x HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 403 /);
    const ok = await raw(addr, `GET /a/./b/../c//d HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n`);
    expect(ok).toMatch(/^HTTP\/1\.1 200 /);
    expect(u.requests[0].url).toBe('/a/c/d');
  });

  it('rejects escaped slashes (%2F, %5C) with 400 so policy and backend cannot disagree', async () => {
    const out = await raw(addr, `GET /x%2F..%2Fadmin HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(u.requests).toHaveLength(0);
  });

  it('strips x-envoy-* headers from untrusted clients at the edge (use_remote_address) and sets XFF', async () => {
    const edge = dp.address('edge') as string;
    await httpRequest(`http://${edge}/`, {
      headers: {
        'x-envoy-original-path': '/admin',
        'x-envoy-retry-on': '5xx',
        'x-envoy-upstream-rq-timeout-ms': '1',
        'x-request-id': 'forged',
      },
    });
    const seen = u.requests[0].headers;
    expect(seen['x-envoy-original-path']).toBeUndefined();
    expect(seen['x-envoy-retry-on']).toBeUndefined();
    expect(seen['x-request-id']).not.toBe('forged');
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-envoy-external-address']).toBe('127.0.0.1');
  });

  it('passes B3 trace headers through unchanged', async () => {
    await httpRequest(`http://${addr}/`, {
      headers: {
        'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
        'x-b3-spanid': 'e457b5a2e4d86bd1',
        'x-b3-sampled': '1',
      },
    });
    expect(u.requests[0].headers['x-b3-traceid']).toBe('80f198ee56343ba864fe8b2a57d3eff7');
    expect(u.requests[0].headers['x-b3-sampled']).toBe('1');
  });

  it('closes a connection whose headers never finish (slowloris) with 408', async () => {
    const edge = dp.address('edge') as string;
    const out = await raw(edge, `GET / HTTP/1.1\r\nhost: a\r\nx-slow: `);
    expect(out).toMatch(/^HTTP\/1\.1 408 /);
    expect(u.requests).toHaveLength(0);
  });
});

describe('graceful drain', () => {
  it('finishes in-flight requests and refuses new connections', async () => {
    const held: http.ServerResponse[] = [];
    const u = await startUpstream('u', (_q, res) => held.push(res));
    const dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [ROUTES],
        clusters: [staticClusterYaml('c', [u.address])],
      }),
    );
    const addr = dp.address('l') as string;
    const inflight = httpRequest(`http://${addr}/slow`);
    await until(() => held.length === 1);
    const drained = dp.drain(2000);
    await new Promise((r) => setTimeout(r, 20));
    await expect(httpRequest(`http://${addr}/new`)).rejects.toThrow();
    held[0].end('finished');
    const r = await inflight;
    expect([r.status, r.body]).toEqual([200, 'finished']);
    await drained;
    await dp.stop();
    await u.close();
  });
});

describe('request_timeout (fake clock)', () => {
  it('answers 408 when the request body does not arrive in time and sends nothing further upstream', async () => {
    const clock = new FakeClock();
    const u = await startUpstream('u');
    const dp = testEngine({ clock });
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r', [], 'request_timeout: 5s')],
        routes: [ROUTES],
        clusters: [staticClusterYaml('c', [u.address])],
      }),
    );
    const pending = raw(
      dp.address('l') as string,
      `POST /upload HTTP/1.1\r\nhost: a\r\ncontent-length: 100\r\n\r\npartial`,
    );
    await until(() => dp.stats.value('http.l.downstream_rq_active') === 1);
    clock.advance(5000);
    const out = await pending;
    expect(out).toMatch(/^HTTP\/1\.1 408 /);
    expect(dp.stats.value('http.l.downstream_rq_timeout')).toBe(1);
    expect(u.requests).toHaveLength(0);
    await dp.stop();
    await u.close();
  });
});
