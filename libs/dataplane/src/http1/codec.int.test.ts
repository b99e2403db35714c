/**
 * The raw downstream HTTP/1.1 codec end to end through a listener, on raw sockets: pipelining,
 * streamed bodies both ways, HTTP/1.0, Expect: 100-continue, HEAD, the hand-off of an Upgrade
 * request to node's server in the middle of a keep-alive connection, and the same exchanges
 * with `TSMESH_HTTP1_CODEC=node` so both codecs answer alike.
 */
import net from 'node:net';
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

const ROUTES = `name: r\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /direct}, direct_response: {status: 202, body: {inline_string: local}}}, {match: {prefix: /}, route: {cluster: c}}]}]`;

/** A raw client: writes, then collects what arrives until `done(text)` says enough or it closes. */
function exchange(address: string, writes: string[], done: (text: string) => boolean): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const s = net.connect({ port: Number(port), host, noDelay: true });
    let text = '';
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      s.destroy();
      resolve(text);
    };
    s.setEncoding('latin1');
    s.on('data', (c: string) => {
      text += c;
      if (done(text)) finish();
    });
    s.on('close', finish);
    s.on('error', finish);
    s.setTimeout(3000, finish);
    void (async () => {
      for (const w of writes) {
        s.write(w);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
  });
}

const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

describe.each(['raw', 'node'])('downstream HTTP/1.1 codec (%s)', (codec) => {
  let u: TestUpstream;
  let dp: Dataplane;
  let addr: string;
  const saved = process.env['TSMESH_HTTP1_CODEC'];

  beforeAll(async () => {
    process.env['TSMESH_HTTP1_CODEC'] = codec;
    u = await startUpstream('u', (req, res) => {
      if (req.url === '/stream') {
        // No content-length: streamed to the client chunked.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part1-');
        setTimeout(() => res.end('part2'), 5);
        return;
      }
      if (req.url === '/set-cookies') {
        res.writeHead(200, { 'set-cookie': ['a=1', 'b=2'], 'content-length': '2' });
        return void res.end('ok');
      }
      const body = `${req.method} ${req.url} [${req.body}]`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [ROUTES],
        clusters: [staticClusterYaml('c', [u.address])],
      }),
    );
    addr = dp.address('l') as string;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env['TSMESH_HTTP1_CODEC'];
    else process.env['TSMESH_HTTP1_CODEC'] = saved;
    await dp.stop();
    await u.close();
  });
  beforeEach(() => {
    u.requests.length = 0;
  });

  it('answers pipelined requests in order, with Content-Length and chunked bodies, in one write', async () => {
    const out = await exchange(
      addr,
      [
        'GET /one HTTP/1.1\r\nhost: a\r\n\r\n' +
          'POST /two HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\n\r\nhello' +
          'POST /three HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n' +
          'GET /direct HTTP/1.1\r\nhost: a\r\n\r\n' +
          'GET /four HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n',
      ],
      () => false,
    );
    const bodies = out
      .split('HTTP/1.1 ')
      .slice(1)
      .map((r) => r.slice(r.indexOf('\r\n\r\n') + 4));
    expect(bodies).toEqual(['GET /one []', 'POST /two [hello]', 'POST /three [abcde]', 'local', 'GET /four []']);
    expect(count(out, /\r\nconnection: close\r\n/gi)).toBe(1);
    expect(u.requests.map((r) => r.url)).toEqual(['/one', '/two', '/three', '/four']);
  });

  it('streams a request body sent in pieces and a response without length (chunked)', async () => {
    const out = await exchange(
      addr,
      ['POST /slow-body HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n4\r\n', 'abcd\r\n', '0\r\n\r\n'],
      (t) => t.includes('[abcd]'),
    );
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
    expect(out).toContain('POST /slow-body [abcd]');
    const streamed = await exchange(addr, ['GET /stream HTTP/1.1\r\nhost: a\r\n\r\n'], (t) => t.endsWith('0\r\n\r\n'));
    expect(streamed).toMatch(/\r\ntransfer-encoding: chunked\r\n/i);
    expect(streamed).toContain('6\r\npart1-\r\n5\r\npart2\r\n0\r\n\r\n');
  });

  it('keeps repeated response fields apart and answers HEAD without a body', async () => {
    const out = await exchange(
      addr,
      ['GET /set-cookies HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n'],
      () => false,
    );
    expect(out).toMatch(/\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n/i);
    const head = await exchange(
      addr,
      ['HEAD /h HTTP/1.1\r\nhost: a\r\n\r\nGET /after HTTP/1.1\r\nhost: a\r\n\r\n'],
      (t) => t.includes('GET /after []'),
    );
    expect(head).toMatch(/^HTTP\/1\.1 200 [^]*\r\ncontent-length: 10\r\n[^]*\r\n\r\nHTTP\/1\.1 200 /i);
  });

  it('HTTP/1.0: closes after the response unless keep-alive was asked for', async () => {
    const out = await exchange(addr, ['GET /old HTTP/1.0\r\nhost: a\r\n\r\n'], () => false);
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
    expect(out).toContain('GET /old []');
    const kept = await exchange(
      addr,
      ['GET /k1 HTTP/1.0\r\nconnection: keep-alive\r\nhost: a\r\n\r\n', 'GET /k2 HTTP/1.0\r\nhost: a\r\n\r\n'],
      () => false,
    );
    expect(kept).toMatch(/\r\nconnection: keep-alive\r\n/i);
    expect(count(kept, /HTTP\/1\.1 200 /g)).toBe(2);
  });

  it('serves requests arriving a few bytes at a time over several connections at once', async () => {
    const perConn = (i: number) =>
      `GET /p${i}a HTTP/1.1\r\nhost: a\r\n\r\n` +
      `POST /p${i}b HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\n\r\nbody-${i}-xyz` +
      `POST /p${i}c HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n3;e=1\r\nc${i}-\r\n5\r\nchunk\r\n0\r\n\r\n` +
      `GET /direct HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n`;
    const pieces = (text: string, size: number) => {
      const out: string[] = [];
      for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
      return out;
    };
    const outs = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => exchange(addr, pieces(perConn(i), 3 + (i % 3)), () => false)),
    );
    outs.forEach((out, i) => {
      const bodies = out
        .split('HTTP/1.1 ')
        .slice(1)
        .map((r) => r.slice(r.indexOf('\r\n\r\n') + 4));
      expect(bodies).toEqual([`GET /p${i}a []`, `POST /p${i}b [body-${i}-xyz]`, `POST /p${i}c [c${i}-chunk]`, 'local']);
    });
    expect(u.requests).toHaveLength(18);
  });

  it('streams a large request body in many reads unchanged', async () => {
    let body = '';
    for (let i = 0; body.length < 300000; i++) body += `${i.toString(36)}.`;
    const out = await exchange(
      addr,
      [`POST /big HTTP/1.1\r\nhost: a\r\ncontent-length: ${body.length}\r\n\r\n`, body],
      (t) => t.includes(']'),
    );
    expect(out).toContain(`POST /big [${body}]`);
  });

  it('answers Expect: 100-continue before the body is sent', async () => {
    const out = await exchange(
      addr,
      ['PUT /up HTTP/1.1\r\nhost: a\r\nexpect: 100-continue\r\ncontent-length: 3\r\n\r\n'],
      (t) => t.includes('100 Continue'),
    );
    expect(out).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
  });

  it('an Upgrade request after keep-alive requests goes to the node server path (not accepted: plain answer)', async () => {
    const out = await exchange(
      addr,
      [
        'GET /first HTTP/1.1\r\nhost: a\r\n\r\n',
        'GET /ws HTTP/1.1\r\nhost: a\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n',
      ],
      (t) => t.includes('GET /ws []'),
    );
    expect(out).toContain('GET /first []');
    expect(out).toContain('GET /ws []');
    expect(u.requests.map((r) => r.url)).toEqual(['/first', '/ws']);
  });

  it.each([
    [
      'unsupported transfer-encoding',
      'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: gzip\r\n\r\n',
      /^(|HTTP\/1\.1 (501|400) [^]*)$/,
    ],
    ['obs-fold', 'GET / HTTP/1.1\r\nhost: a\r\nx: a\r\n b\r\n\r\n', /^HTTP\/1\.1 400 /],
    ['bad request line', 'GET / HTTP/9.9\r\nhost: a\r\n\r\n', /^HTTP\/1\.1 (400|505) /],
    [
      'bad chunk size',
      'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
      /^(|HTTP\/1\.1 400 [^]*)$/,
    ],
  ])('refuses %s and nothing reaches the upstream', async (_n, text, re) => {
    const out = await exchange(addr, [text], () => false);
    expect(out).toMatch(re);
    await new Promise((r) => setTimeout(r, 20));
    expect(u.requests).toHaveLength(0);
  });

  it('counts a refused request (downstream_rq_4xx) and answers 400 to a second Host', async () => {
    const before = dp.stats.value('http.l.downstream_rq_4xx') ?? 0;
    const out = await exchange(addr, ['GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n'], () => false);
    if (codec === 'node') return; // node's parser keeps the first Host
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    await until(() => (dp.stats.value('http.l.downstream_rq_4xx') ?? 0) > before);
  });
});

describe('downstream HTTP/1.1 codec (raw): back-pressure', () => {
  it('stops reading the client while the upstream does not read the body', async () => {
    // An upstream that takes the connection and never reads from it.
    const held: net.Socket[] = [];
    let accepted!: () => void;
    const gotConn = new Promise<void>((r) => (accepted = r));
    const up = net.createServer({ pauseOnConnect: true }, (s) => {
      held.push(s);
      accepted();
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
    const upAddr = `127.0.0.1:${(up.address() as net.AddressInfo).port}`;
    const dp = testEngine();
    const client = new net.Socket();
    try {
      await dp.apply(
        yamlSnapshot({
          listeners: [httpListenerYaml('l', 'r')],
          routes: [ROUTES],
          clusters: [staticClusterYaml('c', [upAddr])],
        }),
      );
      const [host, port] = (dp.address('l') as string).split(':');
      client.on('error', () => undefined);
      await new Promise<void>((r) => client.connect(Number(port), host, () => r()));
      const size = 96 * 1024 * 1024;
      client.write(`POST /up HTTP/1.1\r\nhost: a\r\ncontent-length: ${size}\r\n\r\n`);
      client.write(Buffer.alloc(size, 0x61));
      await gotConn;
      // Kernel buffers on the way hold a few MB; the proxy must not take in the rest.
      await new Promise((r) => setTimeout(r, 500));
      expect(client.writableLength).toBeGreaterThan(32 * 1024 * 1024);
    } finally {
      client.destroy();
      for (const s of held) s.destroy();
      await dp.stop();
      await new Promise<void>((r) => up.close(() => r()));
    }
  });
});
