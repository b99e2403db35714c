/**
 * readIntoBuffer on sockets accepted by a `net.Server`: reads land in the caller's buffer (no
 * 'data' event), pause() stops them, end of stream still arrives, and sockets it cannot switch
 * (bytes already buffered) are left as they were; the same on server-side TLS sockets.
 */
import net from 'node:net';
import tls from 'node:tls';
import { makeTestCert } from '@tsmesh/testing';
import { readIntoBuffer } from './user-buffer';

function pair(): Promise<{ server: net.Server; accepted: net.Socket; client: net.Socket }> {
  return new Promise((resolve) => {
    const server = net.createServer({ pauseOnConnect: true }, (accepted) => resolve({ server, accepted, client }));
    let client: net.Socket;
    server.listen(0, '127.0.0.1', () => {
      client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', noDelay: true });
    });
  });
}

describe('readIntoBuffer', () => {
  it('reads an accepted socket into the given buffer; pause, resume and end keep working', async () => {
    const { server, accepted, client } = await pair();
    try {
      const buf = Buffer.alloc(16);
      const got: string[] = [];
      let data = 0;
      accepted.on('data', () => data++);
      let waiter: (() => void) | null = null;
      expect(readIntoBuffer(accepted, buf, (n: number) => (got.push(buf.toString('latin1', 0, n)), waiter?.()))).toBe(
        true,
      );
      const ended = new Promise<void>((r) => accepted.once('end', r));
      accepted.resume();
      const next = () => new Promise<void>((r) => (waiter = r));
      let p = next();
      client.write('hello');
      await p;
      expect(got.join('')).toBe('hello');
      // More than the buffer holds arrives in several reads.
      p = next();
      client.write('0123456789abcdefghijklmnopqrstuvwxyz');
      while (got.join('').length < 41) {
        await p;
        p = next();
      }
      expect(got.join('')).toBe('hello0123456789abcdefghijklmnopqrstuvwxyz');
      accepted.pause();
      client.write('later');
      await new Promise((r) => setTimeout(r, 30));
      expect(got.join('')).not.toContain('later');
      accepted.resume();
      await p;
      expect(got.join('')).toContain('later');
      client.end();
      await ended;
      expect(data).toBe(0);
    } finally {
      client.destroy();
      accepted.destroy();
      server.close();
    }
  });

  it('leaves a socket with buffered bytes alone', async () => {
    const { server, accepted, client } = await pair();
    try {
      accepted.unshift(Buffer.from('peeked'));
      expect(readIntoBuffer(accepted, Buffer.alloc(16), () => true)).toBe(false);
      const first = new Promise<Buffer>((r) => accepted.once('data', r));
      accepted.resume();
      expect((await first).toString()).toBe('peeked');
    } finally {
      client.destroy();
      accepted.destroy();
      server.close();
    }
  });
});

describe('readIntoBuffer on TLS sockets', () => {
  it('reads decrypted bytes of several server-side TLSSockets into one buffer; pause stops them', async () => {
    const cert = makeTestCert('server', { dns: ['localhost'] });
    const accepted: tls.TLSSocket[] = [];
    const server = tls.createServer({ cert: cert.cert, key: cert.key }, (s) => accepted.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const clients = Array.from({ length: 4 }, () =>
      tls.connect({ port, host: '127.0.0.1', ca: cert.ca, servername: 'localhost' }),
    );
    try {
      await Promise.all(clients.map((c) => new Promise((r) => c.once('secureConnect', r))));
      while (accepted.length < clients.length) await new Promise((r) => setTimeout(r, 5));
      const shared = Buffer.alloc(8);
      const got = accepted.map(() => '');
      let dataEvents = 0;
      let wake: (() => void) | null = null;
      for (const [i, s] of accepted.entries()) {
        s.on('data', () => dataEvents++);
        const ok = readIntoBuffer(s, shared, (n: number) => {
          got[i] += shared.toString('latin1', 0, n);
          wake?.();
        });
        expect(ok).toBe(true);
        s.resume();
      }
      const index = accepted.map((s) => clients.findIndex((c) => c.localPort === s.remotePort));
      const want = clients.map((_, i) => `connection-${i}:`.repeat(20));
      const until = async (done: () => boolean) => {
        while (!done()) await new Promise<void>((r) => (wake = r));
      };
      // Every client writes its text 3 bytes (one TLS record) at a time, interleaved.
      for (let at = 0; at < want[0].length + 3; at += 3)
        for (const [i, c] of clients.entries()) if (at < want[i].length) c.write(want[i].slice(at, at + 3));
      await until(() => accepted.every((_, j) => got[j].length === want[index[j]].length));
      for (const [j] of accepted.entries()) expect(got[j]).toBe(want[index[j]]);
      // Back-pressure: a paused socket reads nothing until resumed.
      accepted[0].pause();
      clients[index[0]].write('later');
      await new Promise((r) => setTimeout(r, 30));
      expect(got[0].endsWith('later')).toBe(false);
      accepted[0].resume();
      await until(() => got[0].endsWith('later'));
      const ended = new Promise<void>((r) => accepted[0].once('end', r));
      clients[index[0]].end();
      await ended;
      expect(dataEvents).toBe(0);
    } finally {
      for (const c of clients) c.destroy();
      for (const s of accepted) s.destroy();
      server.close();
    }
  });
});
