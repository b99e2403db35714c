import { createDemoLogger, demoRequest, startDemo } from '@tsmesh/demo-kit';
import { Writable } from 'node:stream';
import { buildDetails } from './app';

const quiet = createDemoLogger('details', 'silent', new Writable({ write: (_c, _e, cb) => cb() }));

test('GET /details/<id> returns the sample shape; bad ids get 400', async () => {
  const running = await startDemo(buildDetails({ logger: quiet }), '127.0.0.1', 0);
  try {
    const res = await demoRequest(`http://${running.address}/details/0`, { proxy: null });
    expect(JSON.parse(res.body)).toMatchObject({
      id: 0,
      author: 'William Shakespeare',
      year: 1595,
      'ISBN-10': '1234567890',
    });
    expect((await demoRequest(`http://${running.address}/details/x`, { proxy: null })).status).toBe(400);
  } finally {
    await running.stop();
  }
});
