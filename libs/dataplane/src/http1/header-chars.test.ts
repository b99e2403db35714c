import { fieldName, fieldValue, hasBadValueChar, isLowerToken, isToken } from './header-chars';

const name = (s: string) => fieldName(`x${s}y`, 1, s.length + 1);

describe('header-chars', () => {
  it('lower-cases field names and validates them as tokens', () => {
    expect(name('Content-Type')).toBe('content-type');
    expect(name('content-type')).toBe('content-type');
    expect(name('X-Custom_Thing')).toBe('x-custom_thing');
    expect(name("a!#$%&'*+-.^_`|~9")).toBe("a!#$%&'*+-.^_`|~9");
    expect(name('')).toBeNull();
    expect(name('bad name')).toBeNull();
    expect(name('bad:name')).toBeNull();
    expect(name('caf\u00e9')).toBeNull();
    expect(name('a\u0000')).toBeNull();
  });

  it('returns the same name for a common field whatever its case, and other names by value', () => {
    expect(name('DATE')).toBe('date');
    expect(name('Keep-Alive')).toBe('keep-alive');
    // Same length as a common name but different characters.
    expect(name('Content-Typf')).toBe('content-typf');
    expect(name('x-request-ie')).toBe('x-request-ie');
  });

  it('trims optional whitespace from values and refuses NUL, CR and LF', () => {
    const v = (s: string) => fieldValue(`:${s};`, 1, s.length + 1);
    expect(v(' \t text/plain \t')).toBe('text/plain');
    expect(v('a b')).toBe('a b');
    expect(v('   ')).toBe('');
    expect(v('a\rb')).toBeNull();
    expect(v('a\nb')).toBeNull();
    expect(v('a\u0000b')).toBeNull();
    expect(hasBadValueChar('ok value')).toBe(false);
    expect(hasBadValueChar('no\r\nway')).toBe(true);
  });

  it('tells tokens and lower-case tokens apart', () => {
    expect(isLowerToken('content-type')).toBe(true);
    expect(isLowerToken('Content-Type')).toBe(false);
    expect(isToken('Content-Type')).toBe(true);
    expect(isToken('')).toBe(false);
    expect(isToken('a b')).toBe(false);
    expect(isLowerToken('')).toBe(false);
  });
});
