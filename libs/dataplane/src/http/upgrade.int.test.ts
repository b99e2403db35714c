import http from 'node:http';
import net from 'node:net';
import type { Dataplane } from '../engine/dataplane';
import { httpListenerYaml, staticClusterYaml, testEngine, yamlSnapshot } from '../engine/testing';

function exchange(address: string, text: string, done: (got: string) => boolean): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const s = net.connect(Number(port), host);
    let got = '';
    s.on('data', (c) => {
      got += c.toString('latin1');
      if (done(got)) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('close', () => resolve(got));
    s.setTimeout(3000, () => s.destroy());
    s.write(text);
  });
}

describe('HTTP/1.1 upgrades (WebSocket)', () => {
  let server: http.Server;
  let upstream: string;
  let dp: Dataplane;
  beforeAll(async () => {
    server = http.createServer((req, res) => res.end(`plain ${req.headers.upgrade ?? '-'}`));
    server.on('upgrade', (req, socket: net.Socket) => {
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nx-path: ${req.url}\r\n\r\n`,
      );
      socket.on('data', (d) => socket.write(`echo:${d.toString()}`));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    upstream = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [
          httpListenerYaml('ws', 'r', [], 'upgrade_configs: [{upgrade_type: websocket}]'),
          httpListenerYaml('plain', 'r'),
        ],
        routes: [
          `name: r\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /chat}, route: {cluster: u, prefix_rewrite: /socket}}, {match: {prefix: /}, route: {cluster: u}}]}]`,
        ],
        clusters: [staticClusterYaml('u', [upstream])],
      }),
    );
  });
  afterAll(async () => {
    await dp.stop();
    server.closeAllConnections();
    server.close();
  });

  const handshake =
    'GET /chat/room1 HTTP/1.1\r\nhost: chat\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

  it('tunnels a WebSocket upgrade routed by the route table when upgrade_configs allows it', async () => {
    const [host, port] = (dp.address('ws') as string).split(':');
    const got = await new Promise<string>((resolve) => {
      const s = net.connect(Number(port), host);
      let text = '';
      s.on('data', (c) => {
        text += c.toString();
        if (text.includes('\r\n\r\n') && !text.includes('echo:')) s.write('hello');
        if (text.includes('echo:hello')) {
          s.destroy();
          resolve(text);
        }
      });
      s.write(handshake);
    });
    expect(got).toMatch(/^HTTP\/1\.1 101 Switching Protocols/);
    expect(got).toContain('x-path: /socket/room1');
    expect(got).toContain('echo:hello');
    expect(dp.stats.value('http.ws.downstream_cx_upgrades_total')).toBe(1);
  });

  it('treats an upgrade request as a plain request when the connection manager has no upgrade config', async () => {
    const got = await exchange(dp.address('plain') as string, handshake, (g) => g.includes('plain'));
    expect(got).toMatch(/^HTTP\/1\.1 200 /);
    expect(got).toContain('plain -');
  });
});
