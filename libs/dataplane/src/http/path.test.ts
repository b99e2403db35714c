import { normalizePath, type PathOptions } from './path';

const HARD: PathOptions = { normalize: true, mergeSlashes: true, escapedSlashes: 'REJECT_REQUEST' };

describe('normalizePath (RFC 3986 + merge slashes + escaped slashes)', () => {
  it.each([
    ['/a/b/../c', '/a/c'],
    ['/a/./b/.', '/a/b/'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['//dir///file', '/dir/file'],
    ['/a\\..\\admin', '/admin'],
    ['/%61dmin', '/admin'],
    ['/x%2e%2e/y', '/x../y'],
    ['/a/%2e%2e/admin', '/admin'],
    ['/caf%c3%a9', '/caf%C3%A9'],
  ])('%s → %s', (input, want) => {
    const r = normalizePath(input, HARD);
    expect(r).toMatchObject({ ok: true, path: want });
  });

  it('keeps the query apart and drops a fragment', () => {
    expect(normalizePath('/a//b?x=/../y#frag', HARD)).toEqual({ ok: true, path: '/a/b', query: 'x=/../y' });
  });

  it.each(['/x%2F..%2Fadmin', '/x%5c..%5cadmin'])('rejects escaped slashes by default: %s', (p) => {
    expect(normalizePath(p, HARD).ok).toBe(false);
  });

  it('unescapes and forwards escaped slashes when configured, then normalizes', () => {
    expect(normalizePath('/x%2F..%2Fadmin', { ...HARD, escapedSlashes: 'UNESCAPE_AND_FORWARD' })).toMatchObject({
      ok: true,
      path: '/admin',
    });
  });

  it.each(['/bad%zz', '/sp ace', 'relative', '/nul\u0000'])('rejects malformed path %j', (p) => {
    expect(normalizePath(p, HARD).ok).toBe(false);
  });

  it('leaves the path alone when normalization is off', () => {
    expect(
      normalizePath('/a/../b', { normalize: false, mergeSlashes: false, escapedSlashes: 'KEEP_UNCHANGED' }),
    ).toMatchObject({ path: '/a/../b' });
  });
});
