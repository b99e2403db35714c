// A minimal app following the workspace conventions, for process.test.ts.
const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/slow') return setTimeout(() => res.end('slow done'), 300);
  res.end(req.url === '/ready' ? 'ok' : 'hello');
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  console.log(JSON.stringify({ level: 'info', msg: 'listening', listener: 'http', address: `127.0.0.1:${port}` }));
});
process.on('SIGTERM', () => {
  console.log(JSON.stringify({ level: 'info', msg: 'draining' }));
  server.close(() => process.exit(0));
});
