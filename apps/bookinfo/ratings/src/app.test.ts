import { createDemoLogger, demoRequest, startDemo } from '@tsmesh/demo-kit';
import { Writable } from 'node:stream';
import { buildRatings } from './app';

const quiet = createDemoLogger('ratings', 'silent', new Writable({ write: (_c, _e, cb) => cb() }));

test('GET /ratings/<id> → {id, ratings:{Reviewer1:5, Reviewer2:4}}; POST replaces; bad input 400', async () => {
  const running = await startDemo(buildRatings({ logger: quiet }), '127.0.0.1', 0);
  const base = `http://${running.address}`;
  try {
    expect(JSON.parse((await demoRequest(`${base}/ratings/0`, { proxy: null })).body)).toEqual({
      id: 0,
      ratings: { Reviewer1: 5, Reviewer2: 4 },
    });
    const post = (body: string) =>
      demoRequest(`${base}/ratings/1`, {
        method: 'POST',
        proxy: null,
        headers: { 'content-type': 'application/json' },
        body,
      });
    expect((await post('{"Reviewer1":2}')).status).toBe(200);
    expect(JSON.parse((await demoRequest(`${base}/ratings/1`, { proxy: null })).body).ratings).toEqual({
      Reviewer1: 2,
    });
    expect((await post('{"Reviewer1":9}')).status).toBe(400);
  } finally {
    await running.stop();
  }
});
