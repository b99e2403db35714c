import type http from 'node:http';
import net from 'node:net';
import { makeTestCert } from '@tsmesh/testing';
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
import { RawConnection } from './raw-connection';

const ROUTES = `name: r\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c}}]}]`;

describe('drain with HTTP/1 keep-alive connections (fake clock: the drain window never ends by itself)', () => {
  let held: http.ServerResponse[];
  let up: TestUpstream;
  let dp: Dataplane;
  let clock: FakeClock;

  beforeEach(async () => {
    held = [];
    up = await startUpstream('u', (req, res) => {
      if (req.url.startsWith('/slow')) held.push(res);
      else res.end('fast');
    });
    clock = new FakeClock();
    dp = testEngine({ clock });
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [ROUTES],
        clusters: [staticClusterYaml('c', [up.address])],
      }),
    );
  });

  afterEach(async () => {
    for (const r of held) r.destroy();
    await dp.stop();
    await up.close();
  });

  it('closes an idle keep-alive connection at once and answers the in-flight request with Connection: close', async () => {
    const events: string[] = [];
    const addr = dp.address('l') as string;
    const idle = new RawConnection(addr, () => events.push('idle connection closed'));
    const busy = new RawConnection(addr, () => undefined);

    const first = await idle.get('/one');
    expect(first.body).toBe('fast');
    expect(first.head).not.toMatch(/\r\nconnection: close/i);

    const inflight = busy.get('/slow');
    await until(() => held.length === 1);

    const drained = dp.drain(60_000).then(() => events.push('drain finished'));
    // The idle keep-alive connection goes now, while the other request is still in flight.
    await idle.closedPromise;
    expect(busy.closed).toBe(false);

    events.push('in-flight request released');
    held[0].end('finished');
    const r = await inflight;
    expect(r.head).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.head).toMatch(/\r\nconnection: close/i);
    expect(r.body).toBe('finished');

    // The busy connection closes after its response, and that ends the drain before its window.
    await busy.closedPromise;
    await drained;
    expect(events).toEqual(['idle connection closed', 'in-flight request released', 'drain finished']);
  });

  it('closes a connection whose response had started before the drain once that response ends', async () => {
    const events: string[] = [];
    const addr = dp.address('l') as string;
    const busy = new RawConnection(addr, () => undefined);
    const inflight = busy.get('/slow-streaming');
    await until(() => held.length === 1);
    held[0].writeHead(200, { 'content-length': '8' });
    held[0].write('fini');
    // The response head reaches the client before the drain (so it cannot carry Connection: close).
    await until(() => busy.received.includes('fini'));

    const drained = dp.drain(60_000).then(() => events.push('drain finished'));
    expect(busy.closed).toBe(false);
    events.push('response released');
    held[0].end('shed');
    const r = await inflight;
    expect(r.body).toBe('finished');
    expect(r.head).not.toMatch(/\r\nconnection: close/i);
    await busy.closedPromise;
    await drained;
    expect(events).toEqual(['response released', 'drain finished']);
  });

  it('destroys what is still open when the drain window ends on the injected clock', async () => {
    const busy = new RawConnection(dp.address('l') as string, () => undefined);
    void busy.get('/slow-forever');
    await until(() => held.length === 1);
    let finished = false;
    const drained = dp.drain(5000).then(() => (finished = true));
    await new Promise((r) => setImmediate(r));
    expect([finished, busy.closed]).toEqual([false, false]);
    clock.advance(5000);
    await drained;
    await busy.closedPromise;
    expect(busy.received).toBe('');
  });
});

describe('drain over TLS (fake clock)', () => {
  it('closes an idle TLS keep-alive connection at once and ends the drain when the busy one finishes', async () => {
    const cert = makeTestCert('a.example.com');
    const held: http.ServerResponse[] = [];
    const up = await startUpstream('u', (req, res) => {
      if (req.url.startsWith('/slow')) held.push(res);
      else res.end('fast');
    });
    const clock = new FakeClock();
    const dp = testEngine({ clock });
    try {
      const listener = httpListenerYaml('l', 'r').replace(
        '- filters:',
        `- transport_socket:
    name: envoy.transport_sockets.tls
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
      common_tls_context:
        tls_certificates:
        - certificate_chain: {inline_string: ${JSON.stringify(cert.cert)}}
          private_key: {inline_string: ${JSON.stringify(cert.key)}}
  filters:`,
      );
      await dp.apply(
        yamlSnapshot({ listeners: [listener], routes: [ROUTES], clusters: [staticClusterYaml('c', [up.address])] }),
      );
      const addr = dp.address('l') as string;
      const idle = new RawConnection(addr, () => undefined, cert.ca);
      const busy = new RawConnection(addr, () => undefined, cert.ca);
      expect((await idle.get('/one')).body).toBe('fast');
      const inflight = busy.get('/slow');
      await until(() => held.length === 1);
      let finished = false;
      const drained = dp.drain(60_000).then(() => (finished = true));
      await idle.closedPromise;
      expect([finished, busy.closed]).toEqual([false, false]);
      held[0].end('finished');
      const r = await inflight;
      expect(r.head).toMatch(/\r\nconnection: close/i);
      expect(r.body).toBe('finished');
      await busy.closedPromise;
      await drained;
      expect(finished).toBe(true);
    } finally {
      for (const r of held) r.destroy();
      await dp.stop();
      await up.close();
    }
  });
});

describe('drain with a WebSocket tunnel', () => {
  it('keeps an upgraded connection until the drain window ends (it is a stream, not an idle connection)', async () => {
    const server = (await import('node:http')).createServer((_q, res) => res.end('plain'));
    const tunnels: net.Socket[] = [];
    server.on('upgrade', (_req, socket: net.Socket) => {
      tunnels.push(socket);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
      socket.on('data', (d) => socket.write(`echo:${d.toString()}`));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const clock = new FakeClock();
    const dp = testEngine({ clock });
    const s = new net.Socket();
    try {
      await dp.apply(
        yamlSnapshot({
          listeners: [httpListenerYaml('ws', 'r', [], 'upgrade_configs: [{upgrade_type: websocket}]')],
          routes: [ROUTES],
          clusters: [staticClusterYaml('c', [`127.0.0.1:${(server.address() as net.AddressInfo).port}`])],
        }),
      );
      const [host, port] = (dp.address('ws') as string).split(':');
      let text = '';
      let closed = false;
      s.on('data', (c: Buffer) => (text += c.toString()));
      s.on('error', () => undefined);
      s.on('close', () => (closed = true));
      s.connect(Number(port), host);
      s.write(
        'GET /chat HTTP/1.1\r\nhost: chat\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      await until(() => text.includes('\r\n\r\n'));
      expect(text).toMatch(/^HTTP\/1\.1 101 /);

      const drained = dp.drain(5000);
      s.write('still-there');
      await until(() => text.includes('echo:still-there'));
      expect(closed).toBe(false);
      clock.advance(5000);
      await drained;
      await until(() => closed);
    } finally {
      s.destroy();
      await dp.stop();
      for (const t of tunnels) t.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
