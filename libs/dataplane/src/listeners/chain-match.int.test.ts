import net from 'node:net';
import tls from 'node:tls';
import { FakeClock, makeTestCert, type TestCert } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import { staticClusterYaml, testEngine, until, yamlSnapshot } from '../engine/testing';

interface Upstream {
  server: net.Server;
  address: string;
}

function listen(server: net.Server): Promise<Upstream> {
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () =>
      r({ server, address: `127.0.0.1:${(server.address() as net.AddressInfo).port}` }),
    ),
  );
}

/** A TLS server that answers every connection with its own name. */
const tlsUpstream = (name: string, cert: TestCert) =>
  listen(tls.createServer({ key: cert.key, cert: cert.cert }, (s) => s.end(`hello from ${name}`)));

/** A plain TCP server that answers with its tag. */
const tagUpstream = (tag: string) => listen(net.createServer((s) => s.end(tag)));

function tcpChain(cluster: string, match: string): string {
  return `
- filter_chain_match: ${match}
  filters:
  - name: envoy.filters.network.tcp_proxy
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: ${cluster}
      cluster: ${cluster}`;
}

/** TLS through the proxy's tcp_proxy (passthrough): the server certificate's CN and the reply. */
function tlsThrough(address: string, servername?: string): Promise<{ cn: string; body: string } | 'closed'> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const s = tls.connect({ host, port: Number(port), servername, rejectUnauthorized: false });
    let body = '';
    let cn = '';
    s.on('secureConnect', () => (cn = String(s.getPeerCertificate().subject?.CN ?? '')));
    s.on('data', (c: Buffer) => (body += c.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(cn ? { cn, body } : 'closed'));
  });
}

/** Raw bytes in, everything received until the proxy closes. */
function raw(host: string, port: number, send: Buffer | null): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    if (send) s.write(send);
  });
}

describe('filter chain selection (FilterChainMatch) with tls_inspector', () => {
  let dp: Dataplane;
  const ups: Upstream[] = [];
  let sniAddr: string;
  let dstPort: number;

  beforeAll(async () => {
    const google = await tlsUpstream('google', makeTestCert('www.google.com'));
    const cnn = await tlsUpstream('cnn', makeTestCert('edition.cnn.com'));
    const wild = await tlsUpstream('wild', makeTestCert('wild.example.org', { dns: ['*.example.org'] }));
    const two = await tagUpstream('dst-127.0.0.2/32');
    const eight = await tagUpstream('dst-127.0.0.0/8');
    ups.push(google, cnn, wild, two, eight);
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [
          `
name: sni
address: {socket_address: {address: 127.0.0.1, port_value: 0}}
listener_filters:
- name: envoy.filters.listener.tls_inspector
  typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector}
filter_chains:${tcpChain('google', '{server_names: [www.google.com]}')}${tcpChain(
            'cnn',
            '{server_names: [edition.cnn.com]}',
          )}${tcpChain('wild', '{server_names: ["*.example.org"]}')}${tcpChain(
            'google',
            '{server_names: ["*.api.example.org"]}',
          )}${tcpChain('cnn', '{server_names: [exact.example.org]}')}
`,
          `
name: dst
address: {socket_address: {address: 0.0.0.0, port_value: 0}}
filter_chains:${tcpChain('eight', '{prefix_ranges: [{address_prefix: 127.0.0.0, prefix_len: 8}]}')}${tcpChain(
            'two',
            '{prefix_ranges: [{address_prefix: 127.0.0.2, prefix_len: 32}]}',
          )}
`,
        ],
        clusters: [
          staticClusterYaml('google', [google.address]),
          staticClusterYaml('cnn', [cnn.address]),
          staticClusterYaml('wild', [wild.address]),
          staticClusterYaml('two', [two.address]),
          staticClusterYaml('eight', [eight.address]),
        ],
      }),
    );
    sniAddr = dp.address('sni') as string;
    dstPort = Number((dp.address('dst') as string).split(':').pop());
  });
  afterAll(async () => {
    await dp.stop();
    for (const u of ups) u.server.close();
  });

  it('routes each SNI to its own chain, untouched ClientHello passed through', async () => {
    expect(await tlsThrough(sniAddr, 'edition.cnn.com')).toEqual({ cn: 'edition.cnn.com', body: 'hello from cnn' });
    expect(await tlsThrough(sniAddr, 'www.google.com')).toEqual({ cn: 'www.google.com', body: 'hello from google' });
  });

  it('matches wildcard server names by longest suffix, exact names first', async () => {
    expect(await tlsThrough(sniAddr, 'shop.example.org')).toEqual({ cn: 'wild.example.org', body: 'hello from wild' });
    expect(await tlsThrough(sniAddr, 'v1.api.example.org')).toMatchObject({ body: 'hello from google' });
    expect(await tlsThrough(sniAddr, 'exact.example.org')).toMatchObject({ body: 'hello from cnn' });
  });

  it('closes and counts a connection no chain matches', async () => {
    const stat = `listener.${sniAddr.replace(':', '_')}.no_filter_chain_match`;
    const before = dp.stats.value(stat);
    expect(await tlsThrough(sniAddr, 'www.other.net')).toBe('closed');
    expect(await tlsThrough(sniAddr)).toBe('closed');
    expect(dp.stats.value(stat)).toBe(before + 2);
  });

  it('survives malformed ClientHellos (treated as no SNI) and keeps serving', async () => {
    const [host, port] = sniAddr.split(':');
    const garbage = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0xff, 0xff, 0xff, 0x03, 0x03, 0, 0]);
    const badExt = Buffer.alloc(60);
    badExt.set([0x16, 0x03, 0x01, 0x00, 55, 0x01, 0, 0, 51, 0x03, 0x03]);
    badExt[43] = 0; // session id
    badExt.writeUInt16BE(2, 44); // one cipher suite
    badExt[48] = 1; // one compression method
    badExt.writeUInt16BE(0xffff, 50); // extensions longer than the message
    expect(await raw(host, Number(port), garbage)).toBe('');
    expect(await raw(host, Number(port), badExt)).toBe('');
    // A ClientHello that stops half-way waits for the rest (listener_filters_timeout) without blocking others.
    const half = net.connect(Number(port), host);
    half.on('error', () => undefined);
    half.write(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01]));
    expect(await raw(host, Number(port), Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toBe('');
    expect(await tlsThrough(sniAddr, 'edition.cnn.com')).toMatchObject({ body: 'hello from cnn' });
    expect(half.destroyed).toBe(false);
    half.destroy();
  });

  it('picks the longest destination prefix_ranges match on a 0.0.0.0 listener', async () => {
    expect(await raw('127.0.0.2', dstPort, null)).toBe('dst-127.0.0.2/32');
    expect(await raw('127.0.0.3', dstPort, null)).toBe('dst-127.0.0.0/8');
    await until(() => dp.stats.value('tcp.two.downstream_cx_total') === 1);
    expect(dp.stats.value('tcp.eight.downstream_cx_total')).toBe(1);
  });
});

describe('default_filter_chain and listener_filters_timeout', () => {
  const clock = new FakeClock();
  let dp: Dataplane;
  let up: Upstream;

  beforeAll(async () => {
    up = await tagUpstream('default-chain');
    dp = testEngine({ clock });
    await dp.apply(
      yamlSnapshot({
        listeners: [
          `
name: d
address: {socket_address: {address: 127.0.0.1, port_value: 0}}
listener_filters:
- name: envoy.filters.listener.tls_inspector
filter_chains:${tcpChain('up', '{server_names: [only.example.com]}')}
default_filter_chain:
  filters:
  - name: envoy.filters.network.tcp_proxy
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: dflt
      cluster: up
`,
        ],
        clusters: [staticClusterYaml('up', [up.address])],
      }),
    );
  });
  afterAll(async () => {
    await dp.stop();
    up.server.close();
  });

  it('sends what matches no chain to default_filter_chain', async () => {
    const [host, port] = (dp.address('d') as string).split(':');
    expect(await raw(host, Number(port), Buffer.from('plain bytes'))).toBe('default-chain');
    expect(dp.stats.value('tcp.dflt.downstream_cx_total')).toBe(1);
  });

  it('closes a connection whose ClientHello never completes once the timeout passes', async () => {
    const [host, port] = (dp.address('d') as string).split(':');
    const conns = () => dp.listeners().find((l) => l.name === 'd')?.connections;
    await until(() => conns() === 0);
    const closed = raw(host, Number(port), Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01]));
    await until(() => conns() === 1);
    clock.advance(15000);
    expect(await closed).toBe('');
  });
});

describe('continue_on_listener_filters_timeout', () => {
  const clock = new FakeClock();
  let dp: Dataplane;
  let up: Upstream;

  beforeAll(async () => {
    // A server-first protocol: the upstream speaks before the client sends anything.
    up = await tagUpstream('server speaks first');
    dp = testEngine({ clock });
    await dp.apply(
      yamlSnapshot({
        listeners: [
          `
name: c
address: {socket_address: {address: 127.0.0.1, port_value: 0}}
listener_filters:
- name: envoy.filters.listener.tls_inspector
listener_filters_timeout: 0.1s
continue_on_listener_filters_timeout: true
filter_chains:${tcpChain('x', '{server_names: [x.example.com]}')}${tcpChain('up', '{}')}
`,
        ],
        clusters: [staticClusterYaml('up', [up.address]), staticClusterYaml('x', [up.address])],
      }),
    );
  });
  afterAll(async () => {
    await dp.stop();
    up.server.close();
  });

  it('hands a silent connection to the chain matching no SNI when the timeout passes', async () => {
    const [host, port] = (dp.address('c') as string).split(':');
    const got = raw(host, Number(port), null);
    await until(() => dp.listeners().find((l) => l.name === 'c')?.connections === 1);
    clock.advance(100);
    expect(await got).toBe('server speaks first');
    expect(dp.stats.value('tcp.up.downstream_cx_total')).toBe(1);
  });
});
