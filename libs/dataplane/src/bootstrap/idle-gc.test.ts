import { IdleGcPolicy } from './idle-gc';

const MB = 1 << 20;

describe('IdleGcPolicy', () => {
  const policy = () => new IdleGcPolicy({ idleUtilization: 0.02, minGrowthBytes: 2 * MB });

  it('collects once when the loop goes idle after the heap grew, then waits for new growth', () => {
    const p = policy();
    expect(p.shouldCollect(0, 12 * MB)).toBe(false); // baseline
    expect(p.shouldCollect(0.9, 16 * MB)).toBe(false); // busy: never during traffic
    expect(p.shouldCollect(0.5, 19 * MB)).toBe(false);
    expect(p.shouldCollect(0.01, 19 * MB)).toBe(true); // idle, 7 MB grown
    expect(p.shouldCollect(0, 13 * MB)).toBe(false); // the heap the collection left: new baseline
    expect(p.shouldCollect(0, 13.5 * MB)).toBe(false); // idle but little growth
    expect(p.shouldCollect(0, 14.9 * MB)).toBe(false);
    expect(p.shouldCollect(0, 15 * MB)).toBe(true);
  });

  it('does not collect while the loop is busy however much the heap grows', () => {
    const p = policy();
    p.shouldCollect(0, 10 * MB);
    for (let used = 10; used < 60; used += 5) expect(p.shouldCollect(0.02, used * MB)).toBe(false);
  });

  it('measures growth from the lowest heap seen, so a collection V8 ran itself moves the baseline down', () => {
    const p = policy();
    p.shouldCollect(0, 14 * MB);
    expect(p.shouldCollect(0.5, 11 * MB)).toBe(false); // V8 collected: baseline 11
    expect(p.shouldCollect(0, 12.5 * MB)).toBe(false); // 1.5 MB over 11
    expect(p.shouldCollect(0, 13.2 * MB)).toBe(true); // 2.2 MB over 11, though below the first 14 + 2
  });
});
