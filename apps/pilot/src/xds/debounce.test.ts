import { FakeClock } from '@tsmesh/core';
import { Debouncer, type PushRequest } from './debounce';

describe('Debouncer', () => {
  it('pushes once after a quiet period, merging changes', () => {
    const clock = new FakeClock();
    const fired: PushRequest[] = [];
    const d = new Debouncer(clock, 100, 10_000, (r) => fired.push(r));
    d.change(false, 'Endpoints');
    clock.advance(50);
    d.change(false, 'Endpoints');
    clock.advance(99);
    expect(fired).toHaveLength(0);
    clock.advance(1);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ full: false, count: 2 });
  });

  it('makes the push full when any config change is merged', () => {
    const clock = new FakeClock();
    const fired: PushRequest[] = [];
    const d = new Debouncer(clock, 100, 10_000, (r) => fired.push(r));
    d.change(false, 'Endpoints');
    d.change(true, 'VirtualService');
    clock.advance(100);
    expect(fired[0].full).toBe(true);
    expect([...fired[0].reasons].sort()).toEqual(['Endpoints', 'VirtualService']);
  });

  it('caps the wait at debounceMax while changes keep coming', () => {
    const clock = new FakeClock();
    const fired: PushRequest[] = [];
    const d = new Debouncer(clock, 100, 1000, (r) => fired.push(r));
    for (let t = 0; t < 1500; t += 50) {
      d.change(true, 'VirtualService');
      clock.advance(50);
    }
    expect(fired.length).toBeGreaterThanOrEqual(1);
    expect(fired[0].count).toBe(20);
  });
});
