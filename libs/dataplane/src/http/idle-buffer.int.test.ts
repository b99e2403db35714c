/**
 * Connection `idle_timeout`, `stream_idle_timeout` and what bounds the bytes held for a slow
 * reader, over real sockets with short timeouts (waited for, never timed).
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

describe('idle timeouts', () => {
  let dp: Dataplane;
  let u: TestUpstream;
  const held: http.ServerResponse[] = [];

  beforeAll(async () => {
    u = await startUpstream('u', (req, res) => {
      if (req.url === '/hang') held.push(res);
      else res.end('served');
    });
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [
          httpListenerYaml('idle', 'r', [], 'common_http_protocol_options: {idle_timeout: 0.2s}'),
          httpListenerYaml('stream', 'r', [], 'stream_idle_timeout: 0.2s'),
        ],
        routes: [ROUTES],
        clusters: [staticClusterYaml('c', [u.address])],
      }),
    );
  });
  afterAll(async () => {
    for (const res of held.splice(0)) res.destroy();
    await dp.stop();
    await u.close();
  });

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

  it('answers 408 on an HTTP/2 stream idle for stream_idle_timeout and cancels the upstream request', async () => {
    const before = dp.stats.value('http.stream.downstream_rq_timeout') ?? 0;
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
      expect(reply.status).toBe(408);
      expect(dp.stats.value('http.stream.downstream_rq_timeout')).toBe(before + 1);
      const upstreamSide = held[held.length - 1];
      await until(() => upstreamSide.socket === null || upstreamSide.socket.destroyed);
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
