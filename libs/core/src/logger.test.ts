import { createLogger, silentLogger, type LoggerOptions } from './logger';

/** A logger writing into an array, and its lines parsed. */
function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const log = createLogger('proxy', { level: 'info', ...options, destination: { write: (l) => lines.push(l) } });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('a line is one JSON object in pino order: level, time, component, fields, msg', () => {
  const { log, lines } = capture();
  log.info({ listener: 'admin', address: '127.0.0.1:15000' }, 'listening');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(
    /^\{"level":"info","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","component":"proxy","listener":"admin","address":"127\.0\.0\.1:15000","msg":"listening"\}\n$/,
  );
});

test('message only, fields only, and nothing', () => {
  const { log, parsed } = capture();
  log.warn('initial fetch timeout');
  log.error({ err: 'refused' });
  log.info();
  const [a, b, c] = parsed();
  expect(a).toMatchObject({ level: 'warn', component: 'proxy', msg: 'initial fetch timeout' });
  expect(b).toMatchObject({ level: 'error', err: 'refused' });
  expect(b).not.toHaveProperty('msg');
  expect(Object.keys(c)).toEqual(['level', 'time', 'component']);
});

test('lines below the level are dropped; the level can be changed and read back', () => {
  const { log, parsed } = capture({ level: 'warn' });
  log.info('dropped');
  log.debug('dropped');
  log.warn('kept');
  expect(log.isLevelEnabled('info')).toBe(false);
  log.level = 'debug';
  expect(log.level).toBe('debug');
  expect(log.isLevelEnabled('debug')).toBe(true);
  expect(log.isLevelEnabled('trace')).toBe(false);
  log.debug('kept too');
  log.trace('dropped');
  log.level = 'silent';
  log.fatal('dropped');
  expect(parsed().map((l) => [l['level'], l['msg']])).toEqual([
    ['warn', 'kept'],
    ['debug', 'kept too'],
  ]);
});

test('an unknown level is refused', () => {
  const { log } = capture();
  expect(() => {
    log.level = 'warning';
  }).toThrow('unknown log level warning');
  expect(log.level).toBe('info');
  expect(() => createLogger('x', { level: 'loud' })).toThrow('unknown log level loud');
});

test('LOG_LEVEL is the default level', () => {
  const before = process.env['LOG_LEVEL'];
  process.env['LOG_LEVEL'] = 'error';
  try {
    expect(createLogger('x', { destination: { write: () => undefined } }).level).toBe('error');
  } finally {
    if (before === undefined) delete process.env['LOG_LEVEL'];
    else process.env['LOG_LEVEL'] = before;
  }
});

test('secret-named fields are masked at any depth', () => {
  const { log, parsed } = capture();
  log.info({ key: 'k', token: 't', cert: { privateKey: 'p', subject: 'spiffe://x' }, keys: 2 }, 'loaded');
  expect(parsed()[0]).toMatchObject({
    key: '[redacted]',
    token: '[redacted]',
    cert: { privateKey: '[redacted]', subject: 'spiffe://x' },
    keys: 2,
  });
});

test('errors are written as type, message, stack and their own fields', () => {
  const { log, parsed } = capture();
  const err = Object.assign(new TypeError('bad csr'), { code: 'E_CSR' });
  log.error({ err }, 'CSR signing failed');
  log.error(new RangeError('out of range'));
  const [a, b] = parsed();
  expect(a['err']).toEqual({ type: 'TypeError', message: 'bad csr', stack: err.stack, code: 'E_CSR' });
  expect(a['msg']).toBe('CSR signing failed');
  expect(b).toMatchObject({ err: { type: 'RangeError', message: 'out of range' }, msg: 'out of range' });
});

test('fields JSON cannot hold still give a line: bigint as a string, a cycle as the reason', () => {
  const { log, parsed } = capture();
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  log.info({ bytes: 2n ** 70n }, 'big');
  log.info(cyclic, 'cyclic');
  const [a, b] = parsed();
  expect(a['bytes']).toBe('1180591620717411303424');
  expect(b['msg']).toBe('cyclic');
  expect(b['logFieldsError']).toMatch(/circular/i);
});

test('silentLogger has every level off', () => {
  const log = silentLogger();
  expect(log.level).toBe('silent');
  expect(log.isLevelEnabled('fatal')).toBe(false);
  expect(() => log.fatal({ a: 1 }, 'x')).not.toThrow();
});
