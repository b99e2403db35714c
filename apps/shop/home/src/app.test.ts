import { createDemoLogger, demoRequest, startDemo } from '@tsmesh/demo-kit';
import { Writable } from 'node:stream';
import { buildHome } from './app';

test('home links order, shipping and invoicing but not bonus', async () => {
  const running = await startDemo(
    buildHome({ logger: createDemoLogger('home', 'silent', new Writable({ write: (_c, _e, cb) => cb() })) }),
    '127.0.0.1',
    0,
  );
  try {
    const res = await demoRequest(`http://${running.address}/`, { proxy: null });
    expect(res.body).toContain('href="/order/"');
    expect(res.body).toContain('href="/shipping/"');
    expect(res.body).toContain('href="/invoicing/"');
    expect(res.body).not.toContain('/bonus');
  } finally {
    await running.stop();
  }
});
