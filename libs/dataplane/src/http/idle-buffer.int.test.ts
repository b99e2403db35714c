/**
 * Connection `idle_timeout`, `stream_idle_timeout` (HTTP/2, and HTTP/1.1 on both downstream
 * codecs: 408 for a stalled request, 504 for a stalled upstream, reset once the response started),
 * the route `idle_timeout` in its place, and what bounds the bytes held for a slow reader, over
 * real sockets with short timeouts (waited for, never timed).
 */
import type http from 'node:http';
import http2 from 'node:http2';
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

const ROUTES = `name: r\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c}}]}]`;
/** Route `idle_timeout` in place of the HCM's: 0 (none) under /off, 0.2 s elsewhere. */
const IDLE_ROUTES = `name: r2
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - {match: {prefix: /off/}, route: {cluster: c, idle_timeout: 0s}}
  - {match: {prefix: /}, route: {cluster: c, idle_timeout: 0.2s}}`;

function connect(address: string): Promise<net.Socket> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), host, () => resolve(s));
    s.once('error', reject);
  });
}

function closed(s: net.Socket): Promise<void> {
  return new Promise((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));
}

/** A raw HTTP/1.1 client socket and everything it has received so far. */
async function rawClient(address: string): Promise<{ s: net.Socket; got: () => string }> {
  const s = await connect(address);
  let got = '';
  s.on('data', (c: Buffer) => (got += c.toString('latin1')));
  s.on('error', () => undefined);
  return { s, got: () => got };
}

/**
 * An upstream and an engine with four listeners: `idle` (idle_timeout 0.2 s), `stream`
 * (stream_idle_timeout 0.2 s), `route` (IDLE_ROUTES, idle_timeout 0.2 s) and `request`
 * (request_timeout 0.2 s). Upstream requests
 * ending in /hang get no response, /partial gets its head and 3 of 100 body bytes (both are kept
 * in `held`); startUpstream answers only once a request body is complete, so a stalled one never.
 */
async function startFixture(): Promise<{ dp: Dataplane; u: TestUpstream; held: http.ServerResponse[] }> {
  const held: http.ServerResponse[] = [];
  const u = await startUpstream('u', (req, res) => {
    if (req.url.endsWith('/hang')) held.push(res);
    else if (req.url === '/partial') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('abc');
      held.push(res);
    } else res.end('served');
  });
  const dp = testEngine();
  await dp.apply(
    yamlSnapshot({
      listeners: [
        httpListenerYaml('idle', 'r', [], 'common_http_protocol_options: {idle_timeout: 0.2s}'),
        httpListenerYaml('stream', 'r', [], 'stream_idle_timeout: 0.2s'),
        httpListenerYaml('route', 'r2', [], 'common_http_protocol_options: {idle_timeout: 0.2s}'),
        httpListenerYaml('request', 'r', [], 'request_timeout: 0.2s'),
      ],
      routes: [ROUTES, IDLE_ROUTES],
      clusters: [staticClusterYaml('c', [u.address])],
    }),
  );
  return { dp, u, held };
}

async function stopFixture(f: { dp: Dataplane; u: TestUpstream; held: http.ServerResponse[] }): Promise<void> {
  for (const res of f.held.splice(0)) res.destroy();
  await f.dp.stop();
  await f.u.close();
}

describe('idle timeouts', () => {
  let f: Awaited<ReturnType<typeof startFixture>>;
  let dp: Dataplane;
  let held: http.ServerResponse[];

  beforeAll(async () => {
    f = await startFixture();
    ({ dp, held } = f);
  });
  afterAll(() => stopFixture(f));

  it('closes an idle HTTP/1.1 keep-alive connection after idle_timeout', async () => {
    const s = await connect(dp.address('idle') as string);
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString('latin1')));
    s.write('GET /a HTTP/1.1\r\nhost: a\r\n\r\n');
    await until(() => got.endsWith('served'));
    expect(got).toMatch(/^HTTP\/1\.1 200 /);
    expect(got).not.toMatch(/connection: close/i);
    await closed(s);
    await until(() => dp.stats.value('http.idle.downstream_cx_active') === 0);
  });

  it('closes an idle HTTP/2 connection after idle_timeout', async () => {
    const session = http2.connect(`http://${dp.address('idle')}`);
    session.on('error', () => undefined);
    const ended = new Promise<void>((resolve) => session.once('close', () => resolve()));
    const status = await new Promise<number>((resolve, reject) => {
      const st = session.request({ ':path': '/a' });
      st.on('response', (h) => resolve(Number(h[':status'])));
      st.on('error', reject);
      st.resume();
    });
    expect(status).toBe(200);
    await ended;
    expect(session.destroyed).toBe(true);
  });

  it('answers 504 on an HTTP/2 stream whose upstream is idle for stream_idle_timeout and cancels the upstream request', async () => {
    const before = dp.stats.value('http.stream.downstream_rq_idle_timeout') ?? 0;
    const session = http2.connect(`http://${dp.address('stream')}`);
    session.on('error', () => undefined);
    try {
      const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const st = session.request({ ':path': '/hang' });
        let status = 0;
        let body = '';
        st.setEncoding('utf8');
        st.on('response', (h) => (status = Number(h[':status'])));
        st.on('data', (d: string) => (body += d));
        st.on('end', () => resolve({ status, body }));
        st.on('error', reject);
      });
      expect(reply).toEqual({ status: 504, body: 'stream timeout' });
      expect(dp.stats.value('http.stream.downstream_rq_idle_timeout')).toBe(before + 1);
      const upstreamSide = held[held.length - 1];
      await until(() => upstreamSide.socket === null || upstreamSide.socket.destroyed);
    } finally {
      session.close();
    }
  });

  it('answers 408 on an HTTP/2 stream whose request body stalls for stream_idle_timeout', async () => {
    const before = dp.stats.value('http.stream.downstream_rq_idle_timeout') ?? 0;
    const session = http2.connect(`http://${dp.address('stream')}`);
    session.on('error', () => undefined);
    try {
      const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const st = session.request({ ':path': '/upload', ':method': 'POST' });
        let status = 0;
        let body = '';
        st.setEncoding('utf8');
        st.on('response', (h) => (status = Number(h[':status'])));
        st.on('data', (d: string) => (body += d));
        st.on('end', () => resolve({ status, body }));
        st.on('error', reject);
        st.write('part of a body');
      });
      expect(reply).toEqual({ status: 408, body: 'stream timeout' });
      expect(dp.stats.value('http.stream.downstream_rq_idle_timeout')).toBe(before + 1);
    } finally {
      session.close();
    }
  });

  it('does not end a complete body-less HTTP/2 request at request_timeout while the upstream is slow', async () => {
    const session = http2.connect(`http://${dp.address('request')}`);
    session.on('error', () => undefined);
    try {
      const before = held.length;
      const st = session.request({ ':path': '/hang' }, { endStream: true });
      const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
        let status = 0;
        let body = '';
        st.setEncoding('utf8');
        st.on('response', (h) => (status = Number(h[':status'])));
        st.on('data', (d: string) => (body += d));
        st.on('end', () => resolve({ status, body }));
        st.on('error', reject);
      });
      await until(() => held.length === before + 1);
      // Several request_timeout windows: the request arrived whole, so the timer does not apply.
      await new Promise((r) => setTimeout(r, 700));
      held[before].end('late');
      expect(await reply).toEqual({ status: 200, body: 'late' });
    } finally {
      session.close();
    }
  });

  it('keeps an HTTP/2 connection with a quiet open stream past idle_timeout, closes it once the stream ends', async () => {
    const session = http2.connect(`http://${dp.address('idle')}`);
    session.on('error', () => undefined);
    const ended = new Promise<void>((resolve) => session.once('close', () => resolve()));
    const before = held.length;
    const st = session.request({ ':path': '/hang' });
    const status = new Promise<number>((resolve) => st.on('response', (h) => resolve(Number(h[':status']))));
    st.resume();
    await until(() => held.length === before + 1);
    // Several idle windows with no frame either way: the open stream keeps the connection.
    await new Promise((r) => setTimeout(r, 700));
    expect(session.closed || session.destroyed).toBe(false);
    held[before].end('late');
    expect(await status).toBe(200);
    await ended;
  });
});

// The same on node's http.Server (TSMESH_HTTP1_CODEC=node), which listeners read when built.
describe.each(['raw', 'node'])('HTTP/1.1 stream idle timeout (%s codec)', (codec) => {
  let f: Awaited<ReturnType<typeof startFixture>>;
  let dp: Dataplane;
  let held: http.ServerResponse[];

  beforeAll(async () => {
    const saved = process.env['TSMESH_HTTP1_CODEC'];
    process.env['TSMESH_HTTP1_CODEC'] = codec;
    try {
      f = await startFixture();
    } finally {
      if (saved === undefined) delete process.env['TSMESH_HTTP1_CODEC'];
      else process.env['TSMESH_HTTP1_CODEC'] = saved;
    }
    ({ dp, held } = f);
  });
  afterAll(() => stopFixture(f));

  it('answers 504 on HTTP/1.1 when the upstream sends nothing for stream_idle_timeout, cancels it and keeps the connection', async () => {
    const before = dp.stats.value('http.stream.downstream_rq_idle_timeout') ?? 0;
    const heldBefore = held.length;
    const { s, got } = await rawClient(dp.address('stream') as string);
    try {
      s.write('GET /hang HTTP/1.1\r\nhost: a\r\n\r\n');
      await until(() => got().endsWith('stream timeout'));
      expect(got()).toMatch(/^HTTP\/1\.1 504 /);
      expect(got()).not.toMatch(/connection: close/i);
      expect(dp.stats.value('http.stream.downstream_rq_idle_timeout')).toBe(before + 1);
      expect(held.length).toBe(heldBefore + 1);
      const upstreamSide = held[heldBefore];
      await until(() => upstreamSide.socket === null || upstreamSide.socket.destroyed);
      // The request was complete: the connection serves the next one.
      s.write('GET /next HTTP/1.1\r\nhost: a\r\n\r\n');
      await until(() => got().endsWith('served'));
      expect(s.destroyed).toBe(false);
    } finally {
      s.destroy();
    }
  });

  it('answers 408 and closes an HTTP/1.1 connection whose request body stalls mid-way', async () => {
    const before = dp.stats.value('http.stream.downstream_rq_idle_timeout') ?? 0;
    const { s, got } = await rawClient(dp.address('stream') as string);
    s.write('POST /upload HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\n\r\nabcd');
    await closed(s);
    expect(got()).toMatch(/^HTTP\/1\.1 408 /);
    expect(got()).toMatch(/\r\nconnection: close\r\n/i);
    expect(got().endsWith('\r\n\r\nstream timeout')).toBe(true);
    expect(dp.stats.value('http.stream.downstream_rq_idle_timeout')).toBe(before + 1);
  });

  it('resets an HTTP/1.1 response that stalls after it started', async () => {
    const before = dp.stats.value('http.stream.downstream_rq_idle_timeout') ?? 0;
    const { s, got } = await rawClient(dp.address('stream') as string);
    s.write('GET /partial HTTP/1.1\r\nhost: a\r\n\r\n');
    await closed(s);
    // The head and the 3 bytes sent, then the connection ends short of the 100 announced.
    expect(got()).toMatch(/^HTTP\/1\.1 200 [^]*content-length: 100\r\n[^]*\r\n\r\nabc$/i);
    expect(dp.stats.value('http.stream.downstream_rq_idle_timeout')).toBe(before + 1);
  });

  it("uses a route's idle_timeout instead of the HCM's on HTTP/1.1: a shorter one answers 504", async () => {
    const { s, got } = await rawClient(dp.address('route') as string);
    try {
      // The HCM's stream_idle_timeout is the default 5 min; the route's is 0.2 s.
      s.write('GET /hang HTTP/1.1\r\nhost: a\r\n\r\n');
      await until(() => got().endsWith('stream timeout'));
      expect(got()).toMatch(/^HTTP\/1\.1 504 /);
      expect(dp.stats.value('http.route.downstream_rq_idle_timeout')).toBe(1);
    } finally {
      s.destroy();
    }
  });

  it("turns the stream idle timeout off with a route idle_timeout of 0; idle_timeout waits for the request's end", async () => {
    const heldBefore = held.length;
    const { s, got } = await rawClient(dp.address('route') as string);
    s.write('GET /off/hang HTTP/1.1\r\nhost: a\r\n\r\n');
    await until(() => held.length === heldBefore + 1);
    // Several 0.2 s windows of the connection's idle_timeout with the request in flight and no
    // byte either way: neither the stream nor the connection is ended.
    await new Promise((r) => setTimeout(r, 700));
    expect(got()).toBe('');
    expect(s.destroyed).toBe(false);
    held[heldBefore].end('late');
    await until(() => got().endsWith('late'));
    expect(got()).toMatch(/^HTTP\/1\.1 200 /);
    // Then the idle keep-alive connection is closed after idle_timeout.
    await closed(s);
  });
});

describe('slow reader', () => {
  it('stops reading the upstream while the client does not read (back-pressure), then delivers every byte', async () => {
    const CHUNK = Buffer.alloc(64 * 1024, 'x');
    const TOTAL = 64 * 1024 * 1024;
    let written = 0;
    let waitingForDrain = false;
    const u = await startUpstream('u', (_req, res) => {
      res.writeHead(200, { 'content-length': String(TOTAL) });
      const pushMore = () => {
        waitingForDrain = false;
        while (written < TOTAL) {
          written += CHUNK.length;
          if (!res.write(CHUNK)) {
            waitingForDrain = true;
            return void res.once('drain', pushMore);
          }
        }
        res.end();
      };
      pushMore();
    });
    const dp = testEngine();
    try {
      await dp.apply(
        yamlSnapshot({
          listeners: [httpListenerYaml('l', 'r')],
          routes: [ROUTES],
          clusters: [staticClusterYaml('c', [u.address])],
        }),
      );
      const s = await connect(dp.address('l') as string);
      s.pause();
      s.write('GET /big HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
      // Settled: the upstream has been blocked on 'drain' for 25 polls in a row with no progress.
      let still = 0;
      let last = -1;
      while (still < 25) {
        await new Promise((r) => setTimeout(r, 20));
        still = waitingForDrain && written === last ? still + 1 : 0;
        last = written;
      }
      // What the kernel's loopback buffers and the streams' high-water marks hold, not the body.
      expect(written).toBeLessThan(TOTAL / 2);
      let received = 0;
      s.on('data', (c: Buffer) => (received += c.length));
      s.resume();
      await closed(s);
      expect(written).toBe(TOTAL);
      expect(received).toBeGreaterThan(TOTAL);
    } finally {
      await dp.stop();
      await u.close();
    }
  });
});
