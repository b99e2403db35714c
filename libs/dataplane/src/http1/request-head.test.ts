import { BodyDecoder } from './body-decoder';
import { isHeadError, parseChunkSize, parseRequestHead, type RequestHead } from './request-head';

const ok = (text: string): RequestHead => {
  const h = parseRequestHead(text, 100);
  if (isHeadError(h)) throw new Error(`refused: ${h.reason}`);
  return h;
};
const status = (text: string, max = 100): number | 'ok' => {
  const h = parseRequestHead(text, max);
  return isHeadError(h) ? h.error : 'ok';
};

describe('parseRequestHead', () => {
  it('reads the request line, lower-cases names, trims OWS and joins repeats', () => {
    const h = ok(
      'POST /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: \t one \t\r\nx-a: two\r\nCookie: a=1\r\ncookie: b=2\r\nSet-Cookie: s=1\r\nset-cookie: s=2\r\nContent-Length: 5',
    );
    expect(h).toMatchObject({ method: 'POST', url: '/a?b=1', versionMinor: 1, framing: 'length', contentLength: 5 });
    expect(h.headers).toEqual({
      host: 'x',
      'x-a': 'one, two',
      cookie: 'a=1; b=2',
      'set-cookie': ['s=1', 's=2'],
      'content-length': '5',
    });
    expect(h.headerCount).toBe(8);
    expect(h.keepAlive).toBe(true);
  });

  it.each([
    ['HTTP/1.1 default', 'GET / HTTP/1.1\r\nhost: a', true],
    ['HTTP/1.1 close', 'GET / HTTP/1.1\r\nhost: a\r\nconnection: Close', false],
    ['HTTP/1.1 close among tokens', 'GET / HTTP/1.1\r\nhost: a\r\nconnection: foo, close', false],
    ['HTTP/1.0 default', 'GET / HTTP/1.0', false],
    ['HTTP/1.0 keep-alive', 'GET / HTTP/1.0\r\nconnection: keep-alive', true],
  ])('keep-alive: %s', (_n, text, keep) => {
    expect(ok(text).keepAlive).toBe(keep);
  });

  it('frames bodies: none, length, zero length, chunked (case-insensitive)', () => {
    expect(ok('GET / HTTP/1.1\r\nhost: a').framing).toBe('none');
    expect(ok('POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 0').framing).toBe('none');
    expect(ok('POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\ncontent-length: 3').contentLength).toBe(3);
    expect(ok('POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: Chunked').framing).toBe('chunked');
  });

  it('flags upgrades and Expect: 100-continue', () => {
    expect(ok('GET / HTTP/1.1\r\nhost: a\r\nconnection: Upgrade\r\nupgrade: websocket').upgrade).toBe(true);
    expect(ok('GET / HTTP/1.1\r\nhost: a\r\nupgrade: websocket').upgrade).toBe(false);
    expect(ok('PUT / HTTP/1.1\r\nhost: a\r\nexpect: 100-Continue\r\ncontent-length: 1').expectContinue).toBe(true);
    expect(ok('PUT / HTTP/1.0\r\nexpect: 100-continue\r\ncontent-length: 1').expectContinue).toBe(false);
  });

  it.each([
    ['CL + TE', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\ntransfer-encoding: chunked', 400],
    ['TE + CL', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\ncontent-length: 5', 400],
    ['conflicting CL', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\ncontent-length: 5', 400],
    ['CL list', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3, 3', 400],
    ['negative CL', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: -1', 400],
    ['CL with sign', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: +1', 400],
    ['CL hex', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 0x10', 400],
    ['CL too long', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 1234567890123456', 400],
    ['TE gzip', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: gzip', 501],
    ['TE gzip, chunked', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: gzip, chunked', 501],
    ['TE twice', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\ntransfer-encoding: chunked', 501],
    ['NUL in value', 'GET / HTTP/1.1\r\nhost: a\r\nx: a\0b', 400],
    ['bare CR in value', 'GET / HTTP/1.1\r\nhost: a\r\nx: a\rb', 400],
    ['bare LF in value', 'GET / HTTP/1.1\r\nhost: a\r\nx: a\nx-injected: 1', 400],
    ['bare LF line end', 'GET / HTTP/1.1\nhost: a', 400],
    ['control char in value', 'GET / HTTP/1.1\r\nhost: a\r\nx: a\x01b', 400],
    ['DEL in value', 'GET / HTTP/1.1\r\nhost: a\r\nx: a\x7fb', 400],
    ['obs-fold (SP)', 'GET / HTTP/1.1\r\nhost: a\r\nx: a\r\n b', 400],
    ['obs-fold (HTAB)', 'GET / HTTP/1.1\r\nhost: a\r\nx: a\r\n\tb', 400],
    ['space before colon', 'GET / HTTP/1.1\r\nhost: a\r\nx : a', 400],
    ['no colon', 'GET / HTTP/1.1\r\nhost: a\r\nxyz', 400],
    ['empty name', 'GET / HTTP/1.1\r\nhost: a\r\n: a', 400],
    ['bad name char', 'GET / HTTP/1.1\r\nhost: a\r\nx(y): a', 400],
    ['two hosts', 'GET / HTTP/1.1\r\nhost: a\r\nhost: b', 400],
    ['method with slash', 'GE/T / HTTP/1.1\r\nhost: a', 400],
    ['lower-case version', 'GET / http/1.1\r\nhost: a', 400],
    ['HTTP/2.0 line', 'GET / HTTP/2.0\r\nhost: a', 400],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\nhost: a', 400],
    ['missing version', 'GET /\r\nhost: a', 400],
    ['two spaces', 'GET  / HTTP/1.1\r\nhost: a', 400],
    ['space in target', 'GET /a b HTTP/1.1\r\nhost: a', 400],
    ['8-bit target', 'GET /\xe9 HTTP/1.1\r\nhost: a', 400],
    ['empty line', '', 400],
    ['trailing space', 'GET / HTTP/1.1 \r\nhost: a', 400],
    ['other protocol name', 'GET / XTTP/1.1\r\nhost: a', 400],
    ['version without a space', 'GET /HTTP/1.1\r\nhost: a', 400],
  ])('refuses %s', (_n, text, code) => {
    expect(status(text)).toBe(code);
  });

  it('answers 431 past the header count, and counts exactly to the limit', () => {
    const hs = (n: number) => Array.from({ length: n }, (_, i) => `\r\nx-${i}: v`).join('');
    expect(status(`GET / HTTP/1.1${hs(100)}`)).toBe('ok');
    expect(status(`GET / HTTP/1.1${hs(101)}`)).toBe(431);
  });

  it('never throws and refuses anything with CR/LF/NUL smuggled into a value (random mutations)', () => {
    const base = 'POST /p HTTP/1.1\r\nhost: a\r\nx-v: abc\r\ncontent-length: 3';
    const inserts = ['\r', '\n', '\0', ' ', ':', '\t', '\x01', 'A', ','];
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    for (let i = 0; i < 3000; i++) {
      const at = rnd(base.length);
      const ins = inserts[rnd(inserts.length)];
      const text = base.slice(0, at) + ins + base.slice(at + (rnd(2) ? 1 : 0));
      const h = parseRequestHead(text, 100);
      if (isHeadError(h)) continue;
      for (const k in h.headers) {
        expect(k).toMatch(/^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
        expect(String(h.headers[k])).not.toMatch(/[\0\r\n]/);
      }
      if (h.headers['content-length'] !== undefined) expect(h.headers['content-length']).toMatch(/^\d+$/);
    }
  });
});

describe('parseChunkSize', () => {
  it.each([
    ['0', 0],
    ['a', 10],
    ['FF', 255],
    ['10;ext=1', 16],
    ['10 ;ext', 16],
    ['', -1],
    [' 5', -1],
    ['5 5', -1],
    ['-1', -1],
    ['0x10', -1],
    ['+5', -1],
    ['g', -1],
    ['1'.repeat(14), -1],
    ['5;a\0b', -1],
  ])('%j → %d', (line, size) => {
    expect(parseChunkSize(line)).toBe(size);
  });
});

describe('BodyDecoder', () => {
  const decode = (framing: 'length' | 'chunked', len: number, pieces: string[]) => {
    const d = new BodyDecoder(framing, len, 1024);
    let body = '';
    let rest = '';
    for (const p of pieces) {
      const buf = Buffer.from(p, 'latin1');
      const at = d.feed(buf, 0, (c) => (body += c.toString('latin1')));
      if (at < 0) return { error: d.error };
      if (d.done) rest += buf.toString('latin1', at);
    }
    return { body, rest, done: d.done };
  };

  it('reads a Content-Length body and leaves the next request', () => {
    expect(decode('length', 5, ['ab', 'cdeGET'])).toEqual({ body: 'abcde', rest: 'GET', done: true });
  });

  it('decodes chunked bodies split at every byte, with extensions and trailers', () => {
    const wire = '3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nx-t: 1\r\n\r\nNEXT';
    const whole = decode('chunked', 0, [wire]);
    expect(whole).toEqual({ body: 'abc0123456789abcdef', rest: 'NEXT', done: true });
    for (let cut = 1; cut < wire.length; cut++) {
      expect(decode('chunked', 0, [wire.slice(0, cut), wire.slice(cut)])).toEqual(whole);
    }
    expect(decode('chunked', 0, [...wire])).toMatchObject({ body: 'abc0123456789abcdef', done: true });
  });

  it.each([
    ['bad size', 'zz\r\nabc\r\n0\r\n\r\n'],
    ['missing CRLF after data', '3\r\nabcd\r\n0\r\n\r\n'],
    ['negative size', '-3\r\nabc\r\n0\r\n\r\n'],
    ['size line too long', '1' + ';'.repeat(5000) + '\r\n'],
    ['obs-fold trailer', '0\r\nx: 1\r\n y\r\n\r\n'],
  ])('refuses %s', (_n, wire) => {
    expect(decode('chunked', 0, [wire])).toHaveProperty('error');
  });

  it('refuses trailers larger than the limit', () => {
    expect(decode('chunked', 0, ['0\r\nx: ' + 'a'.repeat(2000)])).toHaveProperty('error');
  });
});
