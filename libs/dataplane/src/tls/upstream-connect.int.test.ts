/**
 * UpstreamTlsConnector with `onread`: decrypted bytes arrive in the caller's buffer (no 'data'
 * event), and returning false from the callback stops reading until resume().
 */
import net from 'node:net';
import tls from 'node:tls';
import { makeTestCert } from '@tsmesh/testing';
import { readsIntoBuffer, UpstreamTlsConnector } from './upstream-connect';

describe('UpstreamTlsConnector onread', () => {
  it('reads decrypted bytes into the given buffer; false pauses until resume', async () => {
    const cert = makeTestCert('server', { dns: ['localhost'] });
    const peers: tls.TLSSocket[] = [];
    const server = tls.createServer({ cert: cert.cert, key: cert.key }, (s) => peers.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const connector = new UpstreamTlsConnector({
      servername: 'localhost',
      checkServerIdentity: (host, c) => tls.checkServerIdentity('localhost', c),
      current: () => ({
        secureContext: tls.createSecureContext({ ca: cert.ca }),
        rejectUnauthorized: true,
        generation: 1,
      }),
    });
    const buffer = Buffer.alloc(8);
    let got = '';
    let stopAfter = Infinity;
    let wake: (() => void) | null = null;
    const socket = connector.connect('127.0.0.1', (server.address() as net.AddressInfo).port, {
      buffer,
      callback: (n: number) => {
        got += buffer.toString('latin1', 0, n);
        wake?.();
        return got.length < stopAfter;
      },
    });
    let dataEvents = 0;
    socket.on('data', () => dataEvents++);
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise<void>((r) => (wake = r));
    };
    try {
      expect(readsIntoBuffer(socket, buffer)).toBe(true);
      await new Promise((r) => socket.once('secureConnect', r));
      while (peers.length === 0) await new Promise((r) => setTimeout(r, 5));
      const text = 'decrypted-into-a-small-buffer:'.repeat(10);
      for (let at = 0; at < text.length; at += 5) peers[0].write(text.slice(at, at + 5));
      await until(() => got.length === text.length);
      expect(got).toBe(text);
      stopAfter = got.length + 1;
      peers[0].write('a');
      await until(() => got.length === text.length + 1);
      peers[0].write('later');
      await new Promise((r) => setTimeout(r, 30));
      expect(got.endsWith('later')).toBe(false);
      stopAfter = Infinity;
      socket.resume();
      await until(() => got.endsWith('later'));
      expect(dataEvents).toBe(0);
    } finally {
      socket.destroy();
      for (const p of peers) p.destroy();
      server.close();
    }
  });
});
