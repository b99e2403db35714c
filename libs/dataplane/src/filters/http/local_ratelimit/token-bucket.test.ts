import { TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it('starts full and refuses once the tokens are taken', () => {
    const b = new TokenBucket({ maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 1000 });
    expect([b.tryConsume(0), b.tryConsume(10), b.tryConsume(20)]).toEqual([true, true, false]);
    expect(b.remaining(999)).toBe(0);
  });

  it('adds tokens_per_fill at each fill interval boundary counted from first use, capped at max_tokens', () => {
    const b = new TokenBucket({ maxTokens: 5, tokensPerFill: 2, fillIntervalMs: 100 });
    for (let i = 0; i < 5; i++) expect(b.tryConsume(1000)).toBe(true);
    expect(b.remaining(1099)).toBe(0);
    expect(b.remaining(1100)).toBe(2);
    expect(b.remaining(1250)).toBe(4); // one more boundary at 1200
    expect(b.remaining(10_000)).toBe(5);
  });

  it('keeps the fill phase: time left over after a boundary counts toward the next fill', () => {
    const b = new TokenBucket({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 100 });
    expect(b.tryConsume(0)).toBe(true);
    expect(b.tryConsume(150)).toBe(true); // boundary at 100
    expect(b.tryConsume(199)).toBe(false);
    expect(b.tryConsume(200)).toBe(true); // boundary at 200, not 250
  });
});
