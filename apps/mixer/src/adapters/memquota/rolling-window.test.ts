import { RollingWindow } from './rolling-window';

describe('RollingWindow', () => {
  it('frees an allocation once its 100 ms tick is a whole window old, not before', () => {
    const w = new RollingWindow(1000);
    w.add(1_000_050, 2);
    expect(w.used(1_000_999)).toBe(2);
    // allocated in the tick that started at 1_000_000: gone when the tick of 1_001_000 begins
    expect(w.used(1_001_000)).toBe(0);
  });

  it('ages out tick by tick, and all at once after a long idle time', () => {
    const w = new RollingWindow(500);
    for (let t = 0; t < 5; t++) w.add(2_000_000 + t * 100, t + 1);
    expect(w.used(2_000_499)).toBe(15);
    expect(w.used(2_000_500)).toBe(14);
    // the ticks of 1, 2 and 3 have gone
    expect(w.used(2_000_700)).toBe(9);
    expect(w.used(2_003_000)).toBe(0);
  });

  it('keeps time from the first use even when that is tick 0', () => {
    const w = new RollingWindow(1000);
    w.add(0, 3);
    expect(w.used(500)).toBe(3);
    w.add(500, 1);
    expect(w.used(1000)).toBe(1);
    const idle = new RollingWindow(1000);
    idle.add(0, 3);
    expect(idle.used(1500)).toBe(0);
  });
});
