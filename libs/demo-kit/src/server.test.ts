import { Writable } from 'node:stream';
import { createDemoLogger, createDemoServer, startDemo } from './server';
import { demoRequest } from './client';

test('serves health, logs the listening line and one line per request, stops cleanly', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  const server = createDemoServer({ app: 'demo', logger: createDemoLogger('demo', 'info', sink) });
  server.fastify.get('/hello', async () => ({ hi: 1 }));
  server.fastify.post('/form', async (req) => req.body);
  const running = await startDemo(server, '127.0.0.1', 0);
  const base = `http://${running.address}`;
  expect(lines).toContainEqual(
    expect.objectContaining({ msg: 'listening', listener: 'http', address: running.address, app: 'demo' }),
  );
  expect((await demoRequest(`${base}/health`, { proxy: null })).body).toBe('{"status":"UP"}');
  expect((await demoRequest(`${base}/ready`, { proxy: null })).status).toBe(200);
  const form = await demoRequest(`${base}/form`, {
    method: 'POST',
    proxy: null,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'username=jason&x=1',
  });
  expect(JSON.parse(form.body)).toEqual({ username: 'jason', x: '1' });
  await demoRequest(`${base}/hello`, { proxy: null });
  expect(lines).toContainEqual(expect.objectContaining({ msg: 'request', url: '/hello', status: 200 }));
  await running.stop();
  await expect(demoRequest(`${base}/health`, { proxy: null })).rejects.toThrow();
});
