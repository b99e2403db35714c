import { PassThrough } from 'node:stream';
import type { StreamInfo } from '../http/stream-info';
import { AccessLogs, compileAccessLog as compileOrUndefined, type AccessLogger } from './access-log-hook';

function compileAccessLog(...args: Parameters<typeof compileOrUndefined>): AccessLogger {
  const logger = compileOrUndefined(...args);
  if (!logger) throw new Error(`no logger: ${JSON.stringify(args[2])}`);
  return logger;
}

const info = {
  startTime: Date.UTC(2026, 0, 1),
  duration: 3,
  protocol: 'HTTP/1.1',
  method: 'GET',
  path: '/ratings/0',
  originalPath: '/api/ratings/0',
  authority: 'ratings:9080',
  scheme: 'http',
  requestId: 'r',
  requestHeaders: { 'user-agent': 'ua', 'x-request-id': 'r' },
  responseCode: 404,
  responseFlags: ['NR'],
  bytesReceived: 0,
  bytesSent: 0,
  attemptCount: 0,
  downstreamRemoteAddress: '127.0.0.1:5000',
  downstreamLocalAddress: '127.0.0.1:15001',
  listenerName: 'l',
  statPrefix: 'p',
  dynamicMetadata: {},
} as unknown as StreamInfo;

describe('access logs', () => {
  it('writes the Envoy default format (original path, flags) for the listener and stat prefix', () => {
    const out = new PassThrough();
    const logs = new AccessLogs(out);
    const errors: { path: string; message: string }[] = [];
    const logger = compileAccessLog({ name: 'envoy.access_loggers.stdout' }, 'a', errors);
    logs.setIndex(new Map([['l', new Map([['p', [logger]]])]]));
    logs.onStreamComplete(info);
    logs.onStreamComplete({ ...info, listenerName: 'other' });
    logs.flush();
    expect(String(out.read())).toBe(
      '[2026-01-01T00:00:00.000Z] "GET /api/ratings/0 HTTP/1.1" 404 NR 0 0 3 - "-" "ua" "r" "ratings:9080" "-"\n',
    );
  });

  it('buffers lines and writes them as one chunk at 64 KiB, after the flush interval or on close', async () => {
    const out = new PassThrough();
    const writes: string[] = [];
    out.on('data', (d: Buffer) => writes.push(String(d)));
    const logs = new AccessLogs({ stdout: out, flushIntervalMs: 20, flushBytes: 300 });
    const logger = compileAccessLog({ name: 'envoy.access_loggers.stdout' }, 'a', []);
    logs.setIndex(new Map([['l', new Map([['p', [logger]]])]]));
    logs.onStreamComplete(info);
    logs.onStreamComplete(info);
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual([]);
    logs.onStreamComplete(info); // three lines (~100 bytes each) reach flushBytes
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(1);
    expect(writes[0].split('\n')).toHaveLength(4);
    logs.onStreamComplete(info);
    await new Promise((r) => setTimeout(r, 60)); // the interval flush
    expect(writes).toHaveLength(2);
    expect(writes[1].split('\n')).toHaveLength(2);
    logs.onStreamComplete(info);
    await logs.close();
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(3);
  });

  it('supports json_format in log_format and the v2-era format field', () => {
    const errors: { path: string; message: string }[] = [];
    const json = compileAccessLog(
      {
        name: 'envoy.access_loggers.file',
        typed_config: {
          path: '/dev/stdout',
          log_format: { json_format: { code: '%RESPONSE_CODE%', flags: '%RESPONSE_FLAGS%' } },
        },
      },
      'a',
      errors,
    );
    expect(JSON.parse(json.format({ startTime: 0, responseCode: 404, responseFlags: ['NR'] }))).toEqual({
      code: 404,
      flags: 'NR',
    });
    const legacy = compileAccessLog(
      { name: 'envoy.access_loggers.file', typed_config: { path: '/dev/stdout', format: '%RESPONSE_CODE%\n' } },
      'a',
      errors,
    );
    expect(legacy.format({ startTime: 0, responseCode: 200 })).toBe('200\n');
    expect(errors).toEqual([]);
  });

  it('rejects unknown loggers and file loggers without a path', () => {
    const errors: { path: string; message: string }[] = [];
    expect(compileOrUndefined({ name: 'envoy.access_loggers.http_grpc' }, 'a', errors)).toBeUndefined();
    expect(compileOrUndefined({ name: 'envoy.access_loggers.file', typed_config: {} }, 'b', errors)).toBeUndefined();
    expect(errors.map((e) => e.path)).toEqual(['a.name', 'b.typed_config.path']);
  });
});
