import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { SeededRandom } from '@tsmesh/core';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from './client-hello';

/** The ClientHello node's own TLS client writes, captured from an in-memory stream (no network). */
function realClientHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let s: tls.TLSSocket | undefined = undefined;
    const sink = new Duplex({
      read: () => undefined,
      write: (c: Buffer, _e, cb) => {
        chunks.push(c);
        cb();
        const buf = Buffer.concat(chunks);
        if (parseClientHello(buf).kind !== 'need-more' || buf.length > 5 + buf.readUInt16BE(3)) {
          resolve(buf);
          setImmediate(() => s?.destroy());
        }
      },
    });
    s = tls.connect({ ...opts, socket: sink });
    s.on('error', () => undefined);
  });
}

describe('parseClientHello', () => {
  it('reads SNI (lower-cased) and ALPN from a real ClientHello', async () => {
    const hello = await realClientHello({ servername: 'Edition.CNN.com', ALPNProtocols: ['h2', 'http/1.1'] });
    expect(parseClientHello(hello)).toEqual({ kind: 'client-hello', sni: 'edition.cnn.com', alpn: ['h2', 'http/1.1'] });
  });

  it('asks for more bytes until the ClientHello is complete, then parses it', async () => {
    const hello = await realClientHello({ servername: 'www.google.com' });
    for (const n of [0, 3, 5, 20, hello.length - 1])
      expect(parseClientHello(hello.subarray(0, n)).kind).toBe('need-more');
    expect(parseClientHello(hello)).toMatchObject({ sni: 'www.google.com' });
  });

  it('reassembles a ClientHello split over two records', async () => {
    const hello = await realClientHello({ servername: 'split.example.com' });
    const body = hello.subarray(5);
    const rec = (b: Buffer) => Buffer.concat([Buffer.from([0x16, 3, 1, b.length >> 8, b.length & 0xff]), b]);
    const split = Buffer.concat([rec(body.subarray(0, 10)), rec(body.subarray(10))]);
    expect(parseClientHello(split)).toMatchObject({ kind: 'client-hello', sni: 'split.example.com' });
  });

  it('never throws on corrupted or random input and stays bounded', async () => {
    const hello = await realClientHello({ servername: 'fuzz.example.com', ALPNProtocols: ['h2'] });
    const rnd = new SeededRandom(7);
    const kinds = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(hello);
      for (let k = 0; k < 1 + Math.floor(rnd.next() * 4); k++)
        b[Math.floor(rnd.next() * b.length)] = Math.floor(rnd.next() * 256);
      kinds.add(parseClientHello(b).kind);
    }
    expect(kinds.has('malformed')).toBe(true);
    expect(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')).kind).toBe('malformed');
    // A record header announcing more than the bound is refused at once, not buffered.
    const huge = Buffer.from([0x16, 3, 1, 0x3f, 0xff, 0x01, 0xff, 0xff, 0xff]);
    expect(parseClientHello(huge).kind).toBe('malformed');
    expect(MAX_CLIENT_HELLO_BYTES).toBe(65536);
  });
});
