import { MutableBag } from '@tsmesh/attributes';
import { GrpcStatus } from '@tsmesh/core';
import { CheckCache, decodeReferenced, type RefAttr } from './check-cache';

const T0 = 1_700_000_000_000;
const OK = { code: GrpcStatus.OK, message: '' };
const DENIED = { code: GrpcStatus.PERMISSION_DENIED, message: 'denier.default:Not allowed' };
/** Mixer's answer depended on request.path only. */
const BY_PATH: RefAttr[] = [{ name: 'request.path', absent: false }];

const request = (path: string, headers: Record<string, string> = {}) =>
  MutableBag.from({ 'request.path': path, 'request.headers': headers });

/** Caches an OK for `path` (keyed on the path), valid for a minute and 100 uses. */
const put = (cache: CheckCache, path: string, now = T0) => cache.insert(request(path), BY_PATH, OK, 60_000, 100, now);
const hit = (cache: CheckCache, path: string, now = T0) => cache.lookup(request(path), now) !== undefined;

describe('the bound (10,000 entries by default, least recently used evicted)', () => {
  test('filling past 10,000 keeps 10,000: the least recently used goes, a recently looked-up entry stays', () => {
    const cache = new CheckCache();
    for (let i = 0; i < 10_000; i++) put(cache, `/p${i}`);
    expect(cache.size).toBe(10_000);
    // a lookup makes /p0 the most recently used, so /p1 is now the oldest
    expect(hit(cache, '/p0')).toBe(true);
    put(cache, '/p10000');
    expect(cache.size).toBe(10_000);
    expect(hit(cache, '/p1')).toBe(false);
    expect(hit(cache, '/p0')).toBe(true);
    expect(hit(cache, '/p2')).toBe(true);
    expect(hit(cache, '/p10000')).toBe(true);
    // 5,000 more: the size stays at the bound and the oldest 5,000 go
    for (let i = 10_001; i < 15_001; i++) put(cache, `/p${i}`);
    expect(cache.size).toBe(10_000);
    expect(hit(cache, '/p5002')).toBe(false);
    expect(hit(cache, '/p5003')).toBe(true);
    expect(hit(cache, '/p15000')).toBe(true);
  });

  test('the bound is configurable; answering a key again replaces its entry and makes it the newest', () => {
    const cache = new CheckCache(2);
    put(cache, '/a');
    put(cache, '/b');
    put(cache, '/a');
    expect(cache.size).toBe(2);
    put(cache, '/c');
    expect(cache.size).toBe(2);
    expect(hit(cache, '/b')).toBe(false);
    expect(hit(cache, '/a')).toBe(true);
    expect(hit(cache, '/c')).toBe(true);
  });

  test('more than 256 distinct referenced-attribute sets clear the cache (each lookup walks every set)', () => {
    const cache = new CheckCache();
    const refsFor = (i: number): RefAttr[] => [
      ...BY_PATH,
      { name: 'request.headers', mapKey: `x-h${i}`, absent: true },
    ];
    for (let i = 0; i < 256; i++) cache.insert(request('/p'), refsFor(i), OK, 60_000, 100, T0);
    expect(cache.size).toBe(256);
    cache.insert(request('/q'), refsFor(256), OK, 60_000, 100, T0);
    expect(cache.size).toBe(1);
    expect(hit(cache, '/p')).toBe(false);
    expect(hit(cache, '/q')).toBe(true);
  });
});

describe('expiry', () => {
  test('valid_duration: an answer serves until its duration has passed, then is dropped', () => {
    const cache = new CheckCache();
    cache.insert(request('/a'), BY_PATH, DENIED, 5000, 100, T0);
    expect(cache.lookup(request('/a'), T0 + 4999)).toEqual(DENIED);
    expect(cache.lookup(request('/a'), T0 + 5000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('valid_use_count counts the Check that fetched the answer: 3 uses → 2 answers from the cache', () => {
    const cache = new CheckCache();
    cache.insert(request('/a'), BY_PATH, DENIED, 60_000, 3, T0);
    expect(cache.lookup(request('/a'), T0)).toEqual(DENIED);
    expect(cache.lookup(request('/a'), T0 + 1)).toEqual(DENIED);
    expect(cache.lookup(request('/a'), T0 + 2)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('an answer with no duration or a single use is not kept, and takes no slot from a live entry', () => {
    const cache = new CheckCache(1);
    put(cache, '/live');
    cache.insert(request('/a'), BY_PATH, OK, 0, 100, T0);
    cache.insert(request('/b'), BY_PATH, OK, 60_000, 0, T0);
    cache.insert(request('/c'), BY_PATH, OK, 60_000, 1, T0);
    expect(cache.size).toBe(1);
    expect(hit(cache, '/a')).toBe(false);
    expect(hit(cache, '/b')).toBe(false);
    expect(hit(cache, '/c')).toBe(false);
    expect(hit(cache, '/live')).toBe(true);
  });
});

describe('the key: the values of the referenced attributes only', () => {
  // request.path (17) EXACT, request.headers (15) [x-user] ABSENCE
  const refs = decodeReferenced({
    words: ['x-user'],
    attribute_matches: [
      { name: 17, condition: 'EXACT' },
      { name: 15, condition: 'ABSENCE', map_key: -1 },
    ],
  }) as RefAttr[];

  test('requests that agree on them share the answer; an ABSENCE reference matches only requests without it', () => {
    expect(refs).toEqual([
      { name: 'request.headers', mapKey: 'x-user', absent: true },
      { name: 'request.path', mapKey: undefined, absent: false },
    ]);
    const cache = new CheckCache();
    cache.insert(request('/reviews', { 'x-other': '1' }), refs, OK, 60_000, 100, T0);
    expect(cache.lookup(request('/reviews', { 'x-other': '2' }), T0)).toEqual(OK);
    expect(cache.lookup(request('/reviews', { 'x-user': 'jason' }), T0)).toBeUndefined();
    expect(cache.lookup(request('/ratings'), T0)).toBeUndefined();
  });

  test('a request that has an attribute referenced as absent is not cached', () => {
    const cache = new CheckCache();
    cache.insert(request('/reviews', { 'x-user': 'jason' }), refs, OK, 60_000, 100, T0);
    expect(cache.size).toBe(0);
  });

  test('a REGEX match cannot key the cache', () => {
    expect(decodeReferenced({ attribute_matches: [{ name: 17, condition: 'REGEX' }] })).toBeNull();
    expect(decodeReferenced(undefined)).toEqual([]);
  });
});
