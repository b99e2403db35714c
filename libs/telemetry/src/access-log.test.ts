import { MeshError } from '@tsmesh/core';
import { compileJsonFormat, compileTextFormat, formatStartTime, type AccessLogEntry } from './access-log';

const entry: AccessLogEntry = {
  startTime: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
  method: 'GET',
  path: '/productpage',
  authority: 'productpage:9080',
  protocol: 'HTTP/1.1',
  requestHeaders: { 'user-agent': 'curl/8', 'x-request-id': 'abc', 'x-envoy-original-path': '/orig' },
  responseHeaders: { 'x-envoy-upstream-service-time': '7' },
  responseCode: 503,
  responseFlags: ['UH', 'URX'],
  bytesReceived: 0,
  bytesSent: 19,
  durationMs: 8.4,
  upstreamHost: '127.0.0.1:9080',
  upstreamCluster: 'outbound|9080||productpage.default.svc.cluster.local',
  downstreamRemoteAddress: '10.0.0.1:5555',
};

describe('compileTextFormat', () => {
  it("renders Envoy's default format", () => {
    expect(compileTextFormat()(entry)).toBe(
      '[2026-01-02T03:04:05.678Z] "GET /orig HTTP/1.1" 503 UH,URX 0 19 8 7 "-" "curl/8" "abc" "productpage:9080" "127.0.0.1:9080"\n',
    );
  });

  it('prints - for missing values and falls back in REQ(X?Y)', () => {
    const f = compileTextFormat('%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %RESPONSE_FLAGS% %UPSTREAM_HOST%');
    expect(f({ startTime: 0, path: '/p' })).toBe('/p - -');
  });

  it('truncates with :N, keeps %% and strips the port when asked', () => {
    const f = compileTextFormat('%REQ(USER-AGENT):4% 100%% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%');
    expect(f(entry)).toBe('curl 100% 10.0.0.1');
  });

  it('rejects unknown operators with a coded error', () => {
    expect(() => compileTextFormat('%NOPE%')).toThrow(MeshError);
    try {
      compileTextFormat('%REQ()%');
    } catch (e) {
      expect((e as MeshError).code).toBe('TELEMETRY_ERR_ACCESS_LOG_FORMAT');
    }
    expect(() => compileTextFormat('50% off')).toThrow(/malformed operator/);
  });
});

describe('compileJsonFormat', () => {
  it('keeps single-operator values typed', () => {
    const f = compileJsonFormat({
      code: '%RESPONSE_CODE%',
      flags: '%RESPONSE_FLAGS%',
      authority: '%REQ(:AUTHORITY)%',
      missing: '%REQ(X-NONE)%',
      line: '%REQ(:METHOD)% %REQ(:PATH)%',
    });
    expect(JSON.parse(f(entry))).toEqual({
      code: 503,
      flags: 'UH,URX',
      authority: 'productpage:9080',
      missing: null,
      line: 'GET /productpage',
    });
  });
});

describe('formatStartTime', () => {
  it('matches Date.toISOString across seconds, milliseconds and odd years', () => {
    const base = Date.UTC(2026, 0, 2, 3, 4, 5, 0);
    const times = [base, base + 7, base + 78, base + 678, base + 999, base + 1000, base + 1001, base - 1, 0, 1.9];
    times.push(Date.UTC(-1, 0, 1), Date.UTC(10000, 0, 1, 0, 0, 0, 5), base + 5);
    for (const t of times) expect(formatStartTime(t)).toBe(new Date(Math.floor(t)).toISOString());
  });
});
