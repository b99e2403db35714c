import { parseHeaderBlock, parseStatusLine, serializeHead } from './raw-http1-codec';

describe('raw HTTP/1.1 codec pieces', () => {
  it('reads status lines with and without a reason phrase', () => {
    const line = (s: string) => parseStatusLine(s, s.indexOf('\r\n') < 0 ? s.length : s.indexOf('\r\n'));
    expect(line('HTTP/1.1 200 OK\r\nx: y')).toBe(1200);
    expect(line('HTTP/1.0 404 Not Found')).toBe(404);
    expect(line('HTTP/1.1 204')).toBe(1204);
    expect(line('HTTP/1.1 503 ')).toBe(1503);
  });

  it('refuses malformed status lines', () => {
    for (const bad of [
      'HTTP/1.2 200 OK',
      'HTTP/2.0 200 OK',
      'HTTP/1.1 20 OK',
      'HTTP/1.1 2000 OK',
      'HTTP/1.1  200 OK',
      'HTTP/1.1 2x0 OK',
      'http/1.1 200 OK',
      'HTTP/1.1 200OK',
      'HTTP/1.1 200 O\nK',
      'HTTP/1.1 200 O\rK',
      'ICY 200 OK',
    ])
      expect(parseStatusLine(bad, bad.length)).toBe(-1);
  });

  it('parses header fields after an offset, joining repeats and keeping set-cookie apart', () => {
    const text =
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nVia:  a \r\nvia: b\r\nSet-Cookie: x=1\r\nset-cookie: y=2';
    expect(parseHeaderBlock(text, text.indexOf('\r\n') + 2)).toEqual({
      'content-type': 'text/plain',
      via: 'a, b',
      'set-cookie': ['x=1', 'y=2'],
    });
    expect(parseHeaderBlock('', 0)).toEqual({});
    // White space String.prototype.trim drops around a value (VT, FF, NBSP) is dropped too.
    expect(parseHeaderBlock('X-A: \x0b v\xa0\r\nDATE:\t\x0cd', 0)).toEqual({ 'x-a': 'v', date: 'd' });
    expect(parseHeaderBlock('a: 1\r\ncontent-length: 3\r\ncontent-length: 3', 0)).toEqual({
      a: '1',
      'content-length': '3',
    });
  });

  it('refuses bad header lines', () => {
    for (const bad of [
      'no colon',
      ': empty name',
      'bad name: x',
      'x: a\r\n\r\ny: b',
      'x: a\nb',
      'x: a\0',
      'content-length: 1\r\ncontent-length: 2',
    ])
      expect(() => parseHeaderBlock(bad, 0)).toThrow();
  });

  it('serializes a request head with host first and chunked framing', () => {
    expect(
      serializeHead(
        {
          method: 'POST',
          path: '/p',
          authority: 'svc:80',
          scheme: 'http',
          headers: { host: 'x', a: '1', b: ['2', '3'] },
        },
        true,
      ),
    ).toBe('POST /p HTTP/1.1\r\nhost: svc:80\r\na: 1\r\nb: 2\r\nb: 3\r\ntransfer-encoding: chunked\r\n\r\n');
  });
});
