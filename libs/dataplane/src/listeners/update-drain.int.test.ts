/**
 * Envoy's drain on LDS update: a push that changes a listener's filter chain serves new
 * connections with the new chain at once and drains the connections accepted under the old one
 * (HTTP/1 `Connection: close` on the next response, HTTP/2 GOAWAY, the rest closed when the drain
 * window ends on the injected clock). RDS-only and no-op pushes drain nothing.
 */
import http2 from 'node:http2';
import { FakeClock } from '@tsmesh/core';
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
import type { Snapshot } from '../engine/types';
import { RawConnection } from './raw-connection';

const routes = (cluster: string) =>
  `name: r\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: ${cluster}}}]}]`;

const ABORT = `- name: envoy.filters.http.fault
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
    abort: {http_status: 503, percentage: {numerator: 100}}`;

/** testEngine drains over 50 ms of the FakeClock: nothing ends the window unless the test advances it. */
const DRAIN_MS = 50;

function h2Get(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ':authority': 'a' });
    let status = 0;
    let body = '';
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
    req.end();
  });
}

describe('listener update drains the connections of replaced filter chains (fake clock)', () => {
  let u1: TestUpstream;
  let u2: TestUpstream;
  let dp: Dataplane;
  let clock: FakeClock;
  const raws: RawConnection[] = [];

  const snap = (filters: string[] = [], cluster = 'c1'): Snapshot =>
    yamlSnapshot({
      listeners: [httpListenerYaml('l', 'r', filters)],
      routes: [routes(cluster)],
      clusters: [staticClusterYaml('c1', [u1.address]), staticClusterYaml('c2', [u2.address])],
    });
  const connect = (onClose: () => void = () => undefined) => {
    const c = new RawConnection(dp.address('l') as string, onClose);
    raws.push(c);
    return c;
  };

  beforeAll(async () => {
    u1 = await startUpstream('u1', (_q, res) => res.end('u1'));
    u2 = await startUpstream('u2', (_q, res) => res.end('u2'));
  });
  afterAll(async () => {
    await u1.close();
    await u2.close();
  });
  beforeEach(async () => {
    clock = new FakeClock();
    dp = testEngine({ clock });
    await dp.apply(snap());
  });
  afterEach(async () => {
    for (const r of raws.splice(0)) r.socket.destroy();
    await dp.stop();
  });

  it('HTTP/1: the next response on an old connection says Connection: close under the old config; new connections get the new filter; idle ones close when the window ends', async () => {
    const events: string[] = [];
    const kept = connect(() => events.push('kept connection closed'));
    const idle = connect(() => events.push('idle connection closed'));
    const one = await kept.get('/one');
    expect(one.head).toMatch(/^HTTP\/1\.1 200 /);
    expect(one.head).not.toMatch(/\r\nconnection: close/i);
    expect((await idle.get('/one')).body).toBe('u1');

    await dp.apply(snap([ABORT]));
    expect(dp.listeners()[0]).toMatchObject({ name: 'l', draining: false });
    expect(dp.stats.value('listener_manager.listener_in_place_updated')).toBe(1);

    // Request 2 on the same connection: still the old chain (no fault filter), told to go away.
    const two = await kept.get('/two');
    expect(two.head).toMatch(/^HTTP\/1\.1 200 /);
    expect(two.body).toBe('u1');
    expect(two.head).toMatch(/\r\nconnection: close/i);
    await kept.closedPromise;
    events.push('new connection');

    // A new connection gets the new chain: the abort.
    const fresh = connect();
    const three = await fresh.get('/three');
    expect(three.head).toMatch(/^HTTP\/1\.1 503 /);
    expect(three.body).toBe('fault filter abort');
    expect(three.head).not.toMatch(/\r\nconnection: close/i);

    // The idle pre-update connection lasts until the drain window ends; the new one stays.
    expect(idle.closed).toBe(false);
    events.push('window ends');
    clock.advance(DRAIN_MS);
    await idle.closedPromise;
    expect(fresh.closed).toBe(false);
    expect((await fresh.get('/four')).head).toMatch(/^HTTP\/1\.1 503 /);
    expect(events).toEqual(['kept connection closed', 'new connection', 'window ends', 'idle connection closed']);
  });

  it('HTTP/2: an existing session gets GOAWAY; a new session gets the new config', async () => {
    const events: string[] = [];
    const old = http2.connect(`http://${dp.address('l') as string}`);
    old.on('error', () => undefined);
    try {
      old.on('goaway', () => events.push('goaway'));
      old.on('close', () => events.push('old session closed'));
      expect(await h2Get(old, '/one')).toEqual({ status: 200, body: 'u1' });

      await dp.apply(snap([ABORT]));
      await until(() => events.includes('old session closed'));

      const fresh = http2.connect(`http://${dp.address('l') as string}`);
      fresh.on('error', () => undefined);
      try {
        expect(await h2Get(fresh, '/two')).toEqual({ status: 503, body: 'fault filter abort' });
        expect(events).toEqual(['goaway', 'old session closed']);
      } finally {
        fresh.destroy();
      }
    } finally {
      old.destroy();
    }
  });

  it('a route-only (RDS) push drains nothing and the new routes apply to the next request on the same connection', async () => {
    const conn = connect();
    expect((await conn.get('/one')).body).toBe('u1');
    await dp.apply(snap([], 'c2'));
    const two = await conn.get('/two');
    expect(two.body).toBe('u2');
    expect(two.head).not.toMatch(/\r\nconnection: close/i);
    clock.advance(60_000);
    const three = await conn.get('/three');
    expect(three.body).toBe('u2');
    expect(three.head).not.toMatch(/\r\nconnection: close/i);
    expect(conn.closed).toBe(false);
    expect(dp.stats.value('listener_manager.listener_modified')).toBe(0);
  });

  it('a push with the listener unchanged drains nothing', async () => {
    const conn = connect();
    expect((await conn.get('/one')).body).toBe('u1');
    const h2 = http2.connect(`http://${dp.address('l') as string}`);
    h2.on('error', () => undefined);
    let goaway = false;
    h2.on('goaway', () => (goaway = true));
    try {
      expect((await h2Get(h2, '/one')).status).toBe(200);
      await dp.apply(snap(), { version: '2' });
      clock.advance(60_000);
      const two = await conn.get('/two');
      expect(two.body).toBe('u1');
      expect(two.head).not.toMatch(/\r\nconnection: close/i);
      expect(await h2Get(h2, '/two')).toEqual({ status: 200, body: 'u1' });
      expect([conn.closed, goaway]).toEqual([false, false]);
      expect(dp.stats.value('listener_manager.listener_modified')).toBe(0);
    } finally {
      h2.destroy();
    }
  });
  it('only the connections of the chain that changed drain (in-place filter chain update)', async () => {
    const listener = (tcpPrefix: string) =>
      httpListenerYaml('l', 'r').replace(
        'filter_chains:\n',
        `filter_chains:
- filter_chain_match: {transport_protocol: tls}
  filters:
  - name: envoy.filters.network.tcp_proxy
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: ${tcpPrefix}
      cluster: c1
`,
      );
    const two = (tcpPrefix: string) =>
      yamlSnapshot({
        listeners: [listener(tcpPrefix)],
        routes: [routes('c1')],
        clusters: [staticClusterYaml('c1', [u1.address])],
      });
    await dp.apply(two('passthrough'));
    const conn = connect();
    expect((await conn.get('/one')).body).toBe('u1');
    const before = dp.stats.value('listener_manager.listener_in_place_updated');
    await dp.apply(two('passthrough-renamed'));
    expect(dp.stats.value('listener_manager.listener_in_place_updated')).toBe(before + 1);
    clock.advance(60_000);
    const next = await conn.get('/two');
    expect(next.body).toBe('u1');
    expect(next.head).not.toMatch(/\r\nconnection: close/i);
    expect(conn.closed).toBe(false);
  });
});
