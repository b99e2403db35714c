import { createDemoLogger, demoRequest, startDemo } from '@tsmesh/demo-kit';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { buildBookService } from './app';

const quiet = createDemoLogger('book', 'silent', new Writable({ write: (_c, _e, cb) => cb() }));

test('GET /book/1 → {"bookId":1,"name":"Book 1","rating":N} from rating; 503 when rating fails', async () => {
  let fail = false;
  const seen: http.IncomingHttpHeaders[] = [];
  const rating = http.createServer((req, res) => {
    seen.push(req.headers);
    if (fail) return void res.writeHead(503).end();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ bookId: 1, rating: 3 }));
  });
  await new Promise<void>((r) => rating.listen(0, '127.0.0.1', r));
  const book = await startDemo(
    buildBookService({ ratingUrl: `http://127.0.0.1:${(rating.address() as AddressInfo).port}`, logger: quiet }),
    '127.0.0.1',
    0,
  );
  try {
    const ok = await demoRequest(`http://${book.address}/book/1`, { proxy: null, headers: { 'x-request-id': 'q' } });
    expect(ok.body).toBe('{"bookId":1,"name":"Book 1","rating":3}');
    expect(seen[0]['x-request-id']).toBe('q');
    fail = true;
    expect((await demoRequest(`http://${book.address}/book/1`, { proxy: null })).status).toBe(503);
  } finally {
    await book.stop();
    await new Promise((r) => rating.close(r));
  }
});
