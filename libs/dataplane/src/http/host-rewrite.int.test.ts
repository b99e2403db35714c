import http from 'node:http';
import net from 'node:net';
import { httpRequest } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  yamlSnapshot,
  type TestUpstream,
} from '../engine/testing';

/** One route to cluster `c` with the given extra route-action fields. */
const routeYaml = (action: string) => `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route: {cluster: c, ${action}}
`;

describe('router: authority rewrite (host_rewrite_literal, auto_host_rewrite)', () => {
  let dp: Dataplane;
  let up: TestUpstream;
  beforeAll(async () => {
    up = await startUpstream('u');
  });
  afterAll(() => up.close());
  afterEach(async () => {
    await dp?.stop();
    up.requests.splice(0);
  });

  async function start(action: string, cluster: string): Promise<string> {
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({ listeners: [httpListenerYaml('l', 'r')], routes: [routeYaml(action)], clusters: [cluster] }),
    );
    return `http://${dp.address('l')}`;
  }

  it('sends the literal host upstream and leaves x-forwarded-host alone unless append_x_forwarded_host', async () => {
    const base = await start('host_rewrite_literal: ratings.prod:9080', staticClusterYaml('c', [up.address]));
    const r = await httpRequest(`${base}/a`, { headers: { host: 'reviews:9080' } });
    expect([r.status, r.body]).toEqual([200, 'u']);
    expect(up.requests[0].headers.host).toBe('ratings.prod:9080');
    expect(up.requests[0].headers['x-forwarded-host']).toBeUndefined();
    expect(dp.stats.value('cluster.c.upstream_rq_200')).toBe(1);

    await dp.stop();
    const base2 = await start(
      'host_rewrite_literal: ratings.prod:9080, append_x_forwarded_host: true',
      staticClusterYaml('c', [up.address]),
    );
    await httpRequest(`${base2}/b`, { headers: { host: 'reviews:9080' } });
    expect(up.requests[1].headers.host).toBe('ratings.prod:9080');
    expect(up.requests[1].headers['x-forwarded-host']).toBe('reviews:9080');
  });

  it('auto_host_rewrite uses the chosen endpoint hostname (STATIC endpoint `hostname`)', async () => {
    const cluster = staticClusterYaml('c', [up.address]).replace(
      'endpoint: {address:',
      'endpoint: {hostname: reviews.default.svc.cluster.local, address:',
    );
    const base = await start('auto_host_rewrite: true', cluster);
    const r = await httpRequest(`${base}/x`, { headers: { host: 'reviews:9080' } });
    expect([r.status, r.body]).toEqual([200, 'u']);
    expect(up.requests[0].headers.host).toBe('reviews.default.svc.cluster.local');
    expect(dp.stats.value('cluster.c.upstream_rq_total')).toBe(1);
  });

  it('auto_host_rewrite uses the DNS name of a STRICT_DNS endpoint', async () => {
    const cluster = staticClusterYaml('c', [up.address]).replace('type: STATIC', 'type: STRICT_DNS');
    const base = await start('auto_host_rewrite: true', cluster);
    await httpRequest(`${base}/x`, { headers: { host: 'reviews:9080' } });
    expect(up.requests[0].headers.host).toBe('127.0.0.1');
  });

  it('auto_host_rewrite keeps the downstream authority when the endpoint has no hostname', async () => {
    const base = await start('auto_host_rewrite: true', staticClusterYaml('c', [up.address]));
    await httpRequest(`${base}/x`, { headers: { host: 'reviews:9080' } });
    expect(up.requests[0].headers.host).toBe('reviews:9080');
    expect(dp.stats.value('cluster.c.upstream_rq_200')).toBe(1);
  });
});

/** A WebSocket-style upstream: answers every upgrade with 101 and echoes the Host and x-forwarded-host it got. */
async function echoHostUpgradeServer(): Promise<{ address: string; upgrades: () => number; close(): Promise<void> }> {
  let upgrades = 0;
  const server = http.createServer((_q, res) => res.end('not an upgrade'));
  server.on('upgrade', (req, socket: net.Socket) => {
    upgrades++;
    socket.end(
      'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n' +
        `x-seen-host: ${req.headers.host}\r\nx-seen-xfh: ${req.headers['x-forwarded-host'] ?? '-'}\r\n\r\n`,
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    upgrades: () => upgrades,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Sends a WebSocket handshake and resolves with the response head the proxy relays. */
function upgrade(listener: string, headers: string): Promise<string> {
  const [host, port] = listener.split(':');
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), host);
    let got = '';
    s.on('data', (c) => (got += c.toString('latin1')));
    s.on('close', () => resolve(got));
    s.on('error', reject);
    s.write(
      'GET /ws HTTP/1.1\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\n' +
        `sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n${headers}\r\n`,
    );
  });
}

describe('upgrades (WebSocket): the same authority rewrite as the router', () => {
  let dp: Dataplane;
  let up: Awaited<ReturnType<typeof echoHostUpgradeServer>>;
  beforeAll(async () => {
    up = await echoHostUpgradeServer();
  });
  afterAll(() => up.close());
  afterEach(() => dp?.stop());

  /** A listener with upgrade_configs websocket, the route action `action`, and cluster `c` on the echo server. */
  async function start(action: string, endpointHostname?: string): Promise<string> {
    let cluster = staticClusterYaml('c', [up.address]);
    if (endpointHostname) {
      cluster = cluster.replace('endpoint: {address:', `endpoint: {hostname: ${endpointHostname}, address:`);
    }
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r', [], 'upgrade_configs: [{upgrade_type: websocket}]')],
        routes: [routeYaml(action)],
        clusters: [cluster],
      }),
    );
    return dp.address('l') as string;
  }

  const seen = (head: string, name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(head)?.[1]?.trim();

  it('auto_host_rewrite sends the endpoint hostname as Host of the upgrade request', async () => {
    const l = await start('auto_host_rewrite: true', 'chat.default.svc.cluster.local');
    const head = await upgrade(l, 'host: chat:8080\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(seen(head, 'x-seen-host')).toBe('chat.default.svc.cluster.local');
    expect(seen(head, 'x-seen-xfh')).toBe('-');
    expect(up.upgrades()).toBe(1);
  });

  it('auto_host_rewrite keeps the downstream Host when the endpoint has no hostname', async () => {
    const l = await start('auto_host_rewrite: true');
    const head = await upgrade(l, 'host: chat:8080\r\n');
    expect(seen(head, 'x-seen-host')).toBe('chat:8080');
  });

  it('host_rewrite_literal still applies to upgrades', async () => {
    const l = await start('host_rewrite_literal: chat.prod:9000');
    const head = await upgrade(l, 'host: chat:8080\r\n');
    expect(seen(head, 'x-seen-host')).toBe('chat.prod:9000');
    expect(seen(head, 'x-seen-xfh')).toBe('-');
  });

  it('append_x_forwarded_host appends the downstream authority to an existing x-forwarded-host, once', async () => {
    const l = await start('auto_host_rewrite: true, append_x_forwarded_host: true', 'chat.internal');
    const head = await upgrade(l, 'host: chat:8080\r\nx-forwarded-host: edge.example\r\n');
    expect(seen(head, 'x-seen-host')).toBe('chat.internal');
    expect(seen(head, 'x-seen-xfh')).toBe('edge.example,chat:8080');

    const again = await upgrade(l, 'host: chat:8080\r\nx-forwarded-host: chat:8080\r\n');
    expect(seen(again, 'x-seen-xfh')).toBe('chat:8080');
  });

  it('append_x_forwarded_host without a rewrite leaves x-forwarded-host as the client sent it', async () => {
    const l = await start('auto_host_rewrite: true, append_x_forwarded_host: true');
    const head = await upgrade(l, 'host: chat:8080\r\nx-forwarded-host: edge.example\r\n');
    expect(seen(head, 'x-seen-host')).toBe('chat:8080');
    expect(seen(head, 'x-seen-xfh')).toBe('edge.example');
  });
});
