import net from 'node:net';
import type { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  staticClusterYaml,
  tcpProxyListenerYaml,
  testEngine,
  until,
  yamlSnapshot,
} from '../engine/testing';
import type { StreamInfo } from '../http/stream-info';

function echoServer(): Promise<{ server: net.Server; address: string }> {
  const server = net.createServer((s) => s.pipe(s));
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () =>
      r({ server, address: `127.0.0.1:${(server.address() as net.AddressInfo).port}` }),
    ),
  );
}

function exchange(address: string, send: string, until: (got: string) => boolean): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), host);
    let got = '';
    s.on('data', (c) => {
      got += c.toString('latin1');
      if (until(got)) {
        s.end();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.setTimeout(3000, () => {
      s.destroy();
      resolve(got);
    });
    s.write(send);
  });
}

describe('TCP proxy and CONNECT tunnels', () => {
  let dp: Dataplane;
  let echo: { server: net.Server; address: string };
  let infos: StreamInfo[];

  beforeAll(async () => {
    echo = await echoServer();
    dp = testEngine();
    infos = [];
    dp.onStreamComplete((i) => infos.push(i));
    await dp.apply(
      yamlSnapshot({
        listeners: [
          tcpProxyListenerYaml('tcp', 'echo', 'mongo'),
          httpListenerYaml('outbound', 'r', [], 'upgrade_configs: [{upgrade_type: CONNECT}]'),
        ],
        routes: [
          `
name: r
virtual_hosts:
- name: db
  domains: ["db.example.com:5432"]
  routes:
  - match: {connect_matcher: {}}
    route: {cluster: echo}
`,
        ],
        clusters: [staticClusterYaml('echo', [echo.address])],
      }),
    );
  });
  afterAll(async () => {
    await dp.stop();
    echo.server.close();
  });

  it('pipes bytes both ways through tcp_proxy and counts tcp.<prefix> stats', async () => {
    const got = await exchange(dp.address('tcp') as string, 'ping\n', (g) => g.includes('ping\n'));
    expect(got).toBe('ping\n');
    await until(() => infos.some((i) => i.protocol === 'TCP'));
    expect(dp.stats.value('tcp.mongo.downstream_cx_total')).toBe(1);
    const info = infos.find((i) => i.protocol === 'TCP') as StreamInfo;
    expect(info.upstreamCluster).toBe('echo');
    expect(info.bytesReceived).toBe(5);
    expect(info.bytesSent).toBe(5);
  });

  it('tunnels CONNECT host:port through a connect_matcher route', async () => {
    const got = await exchange(
      dp.address('outbound') as string,
      'CONNECT db.example.com:5432 HTTP/1.1\r\nhost: db.example.com:5432\r\n\r\nhello',
      (g) => g.endsWith('hello'),
    );
    expect(got).toBe('HTTP/1.1 200 Connection established\r\n\r\nhello');
  });

  it('answers 404 to CONNECT without a matching route', async () => {
    const got = await exchange(
      dp.address('outbound') as string,
      'CONNECT other:1 HTTP/1.1\r\nhost: other:1\r\n\r\n',
      (g) => g.includes('\r\n\r\n'),
    );
    expect(got).toMatch(/^HTTP\/1\.1 404 /);
  });
});
