import net from 'node:net';
import http from 'node:http';
import { chunkedResponseWithTrailer, httpRequest, trickle } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  yamlSnapshot,
  type TestUpstream,
} from '../engine/testing';

const ROUTES = `name: r\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c}}]}]`;

describe('raw HTTP/1.1 upstream pool', () => {
  let dp: Dataplane;
  afterEach(() => dp?.stop());

  async function through(address: string): Promise<string> {
    dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [ROUTES],
        clusters: [staticClusterYaml('c', [address])],
      }),
    );
    return `http://${dp.address('l')}`;
  }

  it('streams chunked responses with trailers, chunked request bodies, HEAD and 204', async () => {
    const u: TestUpstream = await startUpstream('u', (req, res) => {
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-sum' });
        res.write('part1-');
        res.write('part2');
        res.addTrailers({ 'x-sum': '11' });
        return void res.end();
      }
      if (req.url === '/empty') {
        res.writeHead(204);
        return void res.end();
      }
      res.writeHead(200, { 'content-length': String(req.body.length + 5) });
      res.end(req.method === 'HEAD' ? undefined : `echo:${req.body}`);
    });
    const base = await through(u.address);
    const c = await httpRequest(`${base}/chunked`);
    expect([c.status, c.body]).toEqual([200, 'part1-part2']);
    const big = 'x'.repeat(200_000);
    const post = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        `${base}/post`,
        { method: 'POST', headers: { 'transfer-encoding': 'chunked' } },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.write(big.slice(0, 100_000));
      setTimeout(() => req.end(big.slice(100_000)), 5);
    });
    expect(post).toBe(`echo:${big}`);
    expect(u.requests.find((r) => r.url === '/post')?.headers['transfer-encoding']).toBe('chunked');
    const head = await httpRequest(`${base}/h`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect((await httpRequest(`${base}/empty`)).status).toBe(204);
    expect((await httpRequest(`${base}/after`)).body).toBe('echo:');
    await u.close();
  });

  it('reuses connections and replays a request that meets a connection the server closed while idle', async () => {
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('\r\n\r\n')) {
          buf = '';
          // Answer, then close the connection a moment later without telling the client.
          s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
          setTimeout(() => s.destroy(), 20);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = await through(`127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    expect((await httpRequest(`${base}/1`)).body).toBe('ok');
    await new Promise((r) => setTimeout(r, 60));
    expect((await httpRequest(`${base}/2`)).body).toBe('ok');
    expect(connections).toBe(2);
    server.close();
  });

  it('reads close-delimited bodies and rejects a malformed upstream response with 503', async () => {
    const server = net.createServer((s) => {
      s.once('data', (d) => {
        if (d.toString().startsWith('GET /bad')) s.end('HTTP/1.1 200 OK\r\nbad header\r\n\r\n');
        else s.end('HTTP/1.1 200 OK\r\n\r\nuntil-close');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = await through(`127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    expect((await httpRequest(`${base}/ok`)).body).toBe('until-close');
    const bad = await httpRequest(`${base}/bad`);
    expect(bad.status).toBe(503);
    server.close();
  });

  it('keeps every byte when responses arrive in small pieces on several connections at once', async () => {
    // Heads, chunk-size lines, chunk data and trailers split across reads, interleaved over
    // concurrent connections: pieces held between reads and body chunks must not alias each other.
    const server = net.createServer((s) => {
      s.setNoDelay(true);
      s.on('data', (d) => {
        const id = /GET \/(\d+)/.exec(d.toString())?.[1] ?? '?';
        trickle(s, chunkedResponseWithTrailer(id), 7);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = await through(`127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    const ids = Array.from({ length: 6 }, (_, i) => String(i + 1));
    const got = await Promise.all(ids.map((id) => httpRequest(`${base}/${id}`)));
    for (const [i, r] of got.entries()) {
      expect(r.status).toBe(200);
      expect(r.headers['x-id']).toBe(ids[i]);
      expect(r.body).toBe(`body-${ids[i]}-`.repeat(50));
    }
    server.close();
  });
});
