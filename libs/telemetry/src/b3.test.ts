import { SeededRandom, systemRandom } from '@tsmesh/core';
import {
  B3_HEADERS,
  childContext,
  formatB3Headers,
  formatB3Single,
  parseB3,
  randomHexId,
  rootContext,
  writeB3Headers,
  type TraceContext,
} from './b3';

const T = '463ac35c9f6413ad48485a3953bb6124';
const S = 'a2fb4a1d1a96d312';
const P = '0020000000000001';

describe('parseB3', () => {
  it('reads the multi-header form', () => {
    const r = parseB3({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-parentspanid': P, 'x-b3-sampled': '1' });
    expect(r.context).toEqual({ traceId: T, spanId: S, parentSpanId: P, sampled: true });
    expect(r.sampled).toBe(true);
  });

  it('reads the single b3 header with parent and debug flag', () => {
    const r = parseB3({ b3: `${T}-${S}-d-${P}` });
    expect(r.context).toEqual({ traceId: T, spanId: S, parentSpanId: P, sampled: true, debug: true });
  });

  it('falls back to the x-b3 headers when the b3 header is garbage', () => {
    expect(parseB3({ b3: 'junk', 'x-b3-traceid': T, 'x-b3-spanid': S }).context?.spanId).toBe(S);
  });

  it('reads a sampling-only b3 header', () => {
    expect(parseB3({ b3: '0' })).toEqual({ sampled: false });
  });

  it('treats x-b3-flags: 1 as debug and sampled', () => {
    expect(parseB3({ 'x-b3-flags': '1' })).toEqual({ sampled: true, debug: true });
  });

  it('ignores malformed or all-zero ids but keeps the decision', () => {
    expect(parseB3({ 'x-b3-traceid': 'xyz', 'x-b3-spanid': S, 'x-b3-sampled': '0' })).toEqual({ sampled: false });
    expect(parseB3({ 'x-b3-traceid': '0'.repeat(32), 'x-b3-spanid': S }).context).toBeUndefined();
  });

  it('accepts 64-bit trace ids and upper-case hex', () => {
    expect(parseB3({ 'x-b3-traceid': 'A2FB4A1D1A96D312', 'x-b3-spanid': S }).context?.traceId).toBe('a2fb4a1d1a96d312');
  });
});

describe('formatting', () => {
  it('round-trips the multi-header form', () => {
    const ctx = { traceId: T, spanId: S, parentSpanId: P, sampled: false };
    expect(formatB3Headers(ctx)).toEqual({
      'x-b3-traceid': T,
      'x-b3-spanid': S,
      'x-b3-parentspanid': P,
      'x-b3-sampled': '0',
    });
    expect(parseB3(formatB3Headers(ctx)).context).toEqual(ctx);
  });

  it('writes the multi-header form over any incoming B3 headers, as delete-all + formatB3Headers would', () => {
    const incoming: Array<Record<string, string>> = [
      {},
      { b3: `${T}-${S}-1`, 'x-other': 'kept' },
      { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-parentspanid': P, 'x-b3-sampled': '1' },
      { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-flags': '1', 'x-b3-sampled': '0' },
    ];
    const contexts: TraceContext[] = [
      { traceId: T, spanId: S },
      { traceId: T, spanId: S, parentSpanId: P, sampled: true },
      { traceId: T, spanId: S, sampled: false },
      { traceId: T, spanId: S, parentSpanId: P, sampled: true, debug: true },
    ];
    for (const h of incoming) {
      for (const ctx of contexts) {
        const written: Record<string, unknown> = { ...h };
        writeB3Headers(written, ctx);
        const expected: Record<string, unknown> = { ...h };
        for (const name of B3_HEADERS) delete expected[name];
        Object.assign(expected, formatB3Headers(ctx));
        expect(written).toEqual(expected);
      }
    }
  });

  it('formats the single header', () => {
    expect(formatB3Single({ traceId: T, spanId: S })).toBe(`${T}-${S}`);
    expect(formatB3Single({ traceId: T, spanId: S, sampled: true, parentSpanId: P })).toBe(`${T}-${S}-1-${P}`);
  });
});

describe('parseB3 edge cases', () => {
  it('trims values, reads hex and flags case-insensitively, and keeps the exact decision rules', () => {
    expect(parseB3({ b3: ` ${T.toUpperCase()}-${S}-D-${P} ` }).context).toEqual({
      traceId: T,
      spanId: S,
      parentSpanId: P,
      sampled: true,
      debug: true,
    });
    expect(parseB3({ b3: 'D' })).toEqual({ sampled: true, debug: true });
    // `true` is a valid x-b3-sampled value but not a b3 header on its own, nor an x-b3-flags value.
    expect(parseB3({ b3: 'true' })).toEqual({});
    expect(parseB3({ 'x-b3-flags': 'true', 'x-b3-sampled': 'True' })).toEqual({ sampled: true });
    expect(parseB3({ 'x-b3-sampled': 'd' })).toEqual({ sampled: true, debug: true });
    expect(parseB3({ 'x-b3-sampled': 'yes' })).toEqual({});
  });

  it('rejects ids of the wrong length or alphabet, inner spaces, and an invalid b3 parent', () => {
    expect(parseB3({ 'x-b3-traceid': T.slice(0, 20), 'x-b3-spanid': S }).context).toBeUndefined();
    expect(parseB3({ 'x-b3-traceid': T, 'x-b3-spanid': `${S.slice(0, 15)}g` }).context).toBeUndefined();
    expect(parseB3({ b3: `${T} -${S}` }).context).toBeUndefined();
    expect(parseB3({ b3: `${T}-${S}-1-xyz`, 'x-b3-sampled': '0' })).toEqual({ sampled: false });
    const r = parseB3({
      'x-b3-traceid': ` ${T} `,
      'x-b3-spanid': [S, 'ffffffffffffffff'],
      'x-b3-parentspanid': '0'.repeat(16),
    });
    expect(r.context).toEqual({ traceId: T, spanId: S });
    expect(r.context && 'parentSpanId' in r.context).toBe(false);
  });
});

describe('ids', () => {
  it('makes children of the same trace with the parent span as parent', () => {
    const random = new SeededRandom(7);
    const root = rootContext(random, true);
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
    const child = childContext(root, random);
    expect(child.traceId).toBe(root.traceId);
    expect(child.parentSpanId).toBe(root.spanId);
    expect(child.spanId).not.toBe(root.spanId);
    expect(child.sampled).toBe(true);
  });

  it('draws system ids from a crypto pool: 16/32 hex characters, distinct across pool refills', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) ids.add(randomHexId(systemRandom));
    expect(ids.size).toBe(2000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    const roots = Array.from({ length: 300 }, () => rootContext(systemRandom, true));
    for (const r of roots) {
      expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(r.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(r.sampled).toBe(true);
    }
    expect(new Set(roots.map((r) => r.traceId + r.spanId)).size).toBe(300);
    expect(rootContext(systemRandom, undefined, 8).traceId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('never returns an all-zero id', () => {
    let calls = 0;
    const r = { next: () => (calls++ < 2 ? 0 : 0.5) };
    expect(randomHexId(r)).toBe('8000000080000000');
    expect(calls).toBe(4);
  });
});
