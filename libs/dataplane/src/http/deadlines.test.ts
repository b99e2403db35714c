import { FakeClock } from '@tsmesh/core';
import { Deadlines, type Expiring } from './deadlines';

function owner(log: string[], name: string, then?: () => void): Expiring {
  return {
    expired: () => {
      log.push(name);
      then?.();
    },
  };
}

describe('Deadlines', () => {
  it('expires each deadline at its own time, in order, and never a cancelled one', () => {
    const clock = new FakeClock();
    const d = new Deadlines(clock);
    const log: string[] = [];
    d.add(100, owner(log, 'a'));
    clock.advance(10);
    const b = d.add(100, owner(log, 'b'));
    clock.advance(10);
    d.add(100, owner(log, 'c'));
    d.add(50, owner(log, 'short'));
    b.cancel();
    b.cancel();
    clock.advance(49); // t=69
    expect(log).toEqual([]);
    clock.advance(1); // t=70: short (added at 20, 50 ms)
    expect(log).toEqual(['short']);
    clock.advance(29);
    expect(log).toEqual(['short']);
    clock.advance(1); // t=100
    expect(log).toEqual(['short', 'a']);
    clock.advance(19); // t=119: b (due at 110) was cancelled
    expect(log).toEqual(['short', 'a']);
    clock.advance(1); // t=120
    expect(log).toEqual(['short', 'a', 'c']);
  });

  it('fires on time when the front was cancelled, and for deadlines added while expiring', () => {
    const clock = new FakeClock();
    const d = new Deadlines(clock);
    const log: string[] = [];
    const first = d.add(100, owner(log, 'first'));
    clock.advance(30);
    d.add(
      100,
      owner(log, 'second', () => d.add(100, owner(log, 'third'))),
    );
    first.cancel();
    clock.advance(99);
    expect(log).toEqual([]);
    clock.advance(1); // t=130
    expect(log).toEqual(['second']);
    clock.advance(99);
    expect(log).toEqual(['second']);
    clock.advance(1); // t=230
    expect(log).toEqual(['second', 'third']);
  });

  it('keeps expiring correctly across many cancellations behind a long-lived deadline', () => {
    const clock = new FakeClock();
    const d = new Deadlines(clock);
    const log: string[] = [];
    d.add(1000, owner(log, 'slow'));
    for (let i = 0; i < 5000; i++) {
      d.add(1000, owner(log, `fast${i}`)).cancel();
      if (i % 10 === 0) clock.advance(0.1);
    }
    const last = owner(log, 'last');
    d.add(1000, last);
    clock.advance(999 - 50); // t=999
    expect(log).toEqual([]);
    clock.advance(1); // t=1000
    expect(log).toEqual(['slow']);
    clock.advance(49);
    expect(log).toEqual(['slow']);
    clock.advance(1); // t=1050: 'last' was added at 50
    expect(log).toEqual(['slow', 'last']);
  });

  it('gives lengths beyond its lanes a timer of their own', () => {
    const clock = new FakeClock();
    const d = new Deadlines(clock);
    const log: string[] = [];
    for (let ms = 1; ms <= 40; ms++) d.add(ms, owner(log, String(ms)));
    const h = d.add(1000, owner(log, 'cancelled'));
    h.cancel();
    clock.advance(2000);
    expect(log).toEqual(Array.from({ length: 40 }, (_, i) => String(i + 1)));
  });
});
