import { createDemoLogger, demoRequest, startDemo } from '@tsmesh/demo-kit';
import { Writable } from 'node:stream';
import { buildRating } from './app';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(c, _e, cb) {
      String(c)
        .split('\n')
        .filter(Boolean)
        .forEach((l) => lines.push(JSON.parse(l)));
      cb();
    },
  });
  return { lines, logger: createDemoLogger('rating', 'info', sink) };
}

test('v1 always rates 1 and logs one line per request', async () => {
  const { lines, logger } = capture();
  const r = await startDemo(buildRating({ version: 'v1', logger }), '127.0.0.1', 0);
  try {
    for (let i = 0; i < 2; i++)
      expect(JSON.parse((await demoRequest(`http://${r.address}/rate/1`, { proxy: null })).body)).toEqual({
        bookId: 1,
        rating: 1,
      });
    expect(lines.filter((l) => l['msg'] === 'Request 1' || l['msg'] === 'Request 2')).toHaveLength(2);
  } finally {
    await r.stop();
  }
});

test('v2 rates with a number fixed at start-up; misbehave/behave switch 503s', async () => {
  const { logger } = capture();
  const r = await startDemo(buildRating({ version: 'v2', random: () => 0.45, logger }), '127.0.0.1', 0);
  const base = `http://${r.address}`;
  try {
    expect(JSON.parse((await demoRequest(`${base}/rate/1`, { proxy: null })).body)).toEqual({ bookId: 1, rating: 3 });
    expect((await demoRequest(`${base}/rate/misbehave`, { proxy: null })).body).toBe(
      'Ratings endpoint returns 503 error.',
    );
    expect((await demoRequest(`${base}/rate/1`, { proxy: null })).status).toBe(503);
    expect((await demoRequest(`${base}/rate/behave`, { proxy: null })).body).toBe('Back to normal');
    expect((await demoRequest(`${base}/rate/2`, { proxy: null })).status).toBe(200);
  } finally {
    await r.stop();
  }
});
