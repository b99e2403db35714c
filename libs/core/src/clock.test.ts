import { FakeClock } from './clock';
import { SeededRandom, SequenceRandom, backoffDelay } from './random';

test('FakeClock fires timers in order only when advanced', () => {
  const clock = new FakeClock(0);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('b'), 200);
  clock.setTimeout(() => fired.push('a'), 100);
  const t = clock.setTimeout(() => fired.push('never'), 150);
  t.cancel();
  clock.advance(99);
  expect(fired).toEqual([]);
  clock.advance(1);
  expect(fired).toEqual(['a']);
  clock.advance(100);
  expect(fired).toEqual(['a', 'b']);
  expect(clock.now()).toBe(200);
});

test('FakeClock intervals repeat and sleep resolves', async () => {
  const clock = new FakeClock(0);
  let n = 0;
  const h = clock.setInterval(() => n++, 10);
  clock.advance(35);
  expect(n).toBe(3);
  h.cancel();
  const done = clock.sleep(50).then(() => 'slept');
  await clock.advanceAsync(50);
  await expect(done).resolves.toBe('slept');
});

test('random helpers are deterministic', () => {
  const a = new SeededRandom(7);
  const b = new SeededRandom(7);
  expect([a.next(), a.next()]).toEqual([b.next(), b.next()]);
  expect(backoffDelay(new SequenceRandom([0.5]), 3, 25, 250)).toBe(100);
  expect(backoffDelay(new SequenceRandom([0.999]), 10, 25, 250)).toBeLessThan(250);
});
