import * as grpc from '@grpc/grpc-js';
import { decodeBag, decodeReport, type MutableBag } from '@tsmesh/attributes';
import { FakeClock, GrpcStatus, type FieldError } from '@tsmesh/core';
import { mixerServiceDefinition } from '@tsmesh/protocol';
import { waitFor } from '@tsmesh/testing';
import type { StreamInfo } from '../../../http/stream-info';
import type { LocalReply } from '../../types';
import { serializeHead } from '../../../upstream/raw-http1-codec';
import { factoryContext, fakeStream, type FakeStreamOptions } from '../jwt_authn/testing';
import { mixerFilterWith } from './index';
import { encodeForwarded, forwardedAttributes, FORWARD_HEADER } from './request-attributes';

/** A scripted Mixer on loopback: answers come from `answer`, requests are recorded. */
class FakeMixer {
  checks: MutableBag[] = [];
  quotas: Array<Record<string, unknown>> = [];
  reports: MutableBag[] = [];
  answer: (bag: MutableBag) => { code: number; message?: string; durationS?: number; uses?: number; granted?: number } =
    () => ({
      code: 0,
    });
  server = new grpc.Server();
  address = '';
  async start() {
    this.server.addService(mixerServiceDefinition(), {
      Check: (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const bag = decodeBag(call.request['attributes'] as never);
        this.checks.push(bag);
        this.quotas.push(call.request['quotas'] as Record<string, unknown>);
        const a = this.answer(bag);
        const quotas: Record<string, unknown> = {};
        for (const q of Object.keys((call.request['quotas'] as object) ?? {}))
          quotas[q] = { granted_amount: a.granted ?? 1, valid_duration: { seconds: 1 } };
        cb(null, {
          precondition: {
            status: { code: a.code, message: a.message ?? '' },
            valid_duration: { seconds: a.durationS ?? 60, nanos: 0 },
            valid_use_count: a.uses ?? 100,
            // the answer depended on request.path and the x-user header
            referenced_attributes: {
              words: ['x-user'],
              attribute_matches: [
                { name: 17, condition: 'EXACT', map_key: 0 },
                { name: 15, condition: 'EXACT', map_key: -1 },
              ],
            },
          },
          quotas,
        });
      },
      Report: (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        this.reports.push(...decodeReport(call.request as never));
        cb(null, {});
      },
    });
    const port = await new Promise<number>((res, rej) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    this.address = `127.0.0.1:${port}`;
  }
  stop() {
    return new Promise<void>((r) => this.server.tryShutdown(() => r()));
  }
}

const mixer = new FakeMixer();
beforeAll(() => mixer.start());
afterAll(() => mixer.stop());
beforeEach(() => {
  mixer.checks = [];
  mixer.reports = [];
  mixer.quotas = [];
  mixer.answer = () => ({ code: 0 });
});

function setup(config: Record<string, unknown> = {}, clock = new FakeClock(Date.now())) {
  const filter = mixerFilterWith({
    // generous: the first Check also connects, and a loaded CI machine is slow to do it
    transport: { checkTimeoutMs: 10_000 },
    reportBatch: { maxEntries: 2, maxDelayMs: 1000 },
  });
  const errors: FieldError[] = [];
  const parsed = filter.parseConfig(
    {
      transport: {
        check_cluster: mixer.address,
        report_cluster: mixer.address,
        network_fail_policy: { policy: 'FAIL_CLOSE' },
      },
      mixer_attributes: { attributes: { 'context.reporter.kind': { string_value: 'inbound' } } },
      ...config,
    },
    'typed_config',
    errors,
  );
  expect(errors).toEqual([]);
  const fctx = factoryContext('mixer', clock);
  const make = filter.create(parsed, fctx);
  const run = async (o: FakeStreamOptions = {}) => {
    const stream = fakeStream({ path: '/reviews', ...o });
    const f = make();
    const result = (await f.onRequest?.(stream)) as LocalReply | undefined;
    return { result, stream, f };
  };
  return { run, make, stats: fctx.stats, clock, handle: filter.handle };
}

test('a denied check becomes a local reply with the status mapped to HTTP and flag UAEX', async () => {
  mixer.answer = () => ({
    code: GrpcStatus.PERMISSION_DENIED,
    message: 'denyreviewsv3handler.denier.default:Not allowed',
  });
  const { run, stats, handle } = setup();
  const { result } = await run();
  expect(result).toMatchObject({
    status: 403,
    body: 'PERMISSION_DENIED:denyreviewsv3handler.denier.default:Not allowed',
    flag: 'UAEX',
  });
  expect(stats.value('http_mixer_filter.total_remote_check_denies')).toBe(1);
  expect(mixer.checks[0].get('context.reporter.kind')).toBe('inbound');
  expect(mixer.checks[0].get('request.path')).toBe('/reviews');
  await handle.close();
});

test('the check cache answers requests that agree on the referenced attributes', async () => {
  const { run, stats, clock, handle } = setup();
  await run({ headers: { 'x-user': 'jason', 'x-other': '1' } });
  await run({ headers: { 'x-user': 'jason', 'x-other': '2' } });
  expect(mixer.checks).toHaveLength(1);
  await run({ headers: { 'x-user': 'mary' } });
  expect(mixer.checks).toHaveLength(2);
  expect(stats.value('http_mixer_filter.total_check_cache_hits')).toBe(1);
  expect(stats.value('http_mixer_filter.total_check_cache_misses')).toBe(2);
  clock.advance(61_000);
  await run({ headers: { 'x-user': 'jason' } });
  expect(mixer.checks).toHaveLength(3);
  await handle.close();
});

test('cached answers are used at most valid_use_count times, denials too', async () => {
  mixer.answer = () => ({ code: GrpcStatus.PERMISSION_DENIED, message: 'no', uses: 2 });
  const { run, handle } = setup();
  for (let i = 0; i < 3; i++) expect((await run({ headers: { 'x-user': 'jason' } })).result?.status).toBe(403);
  expect(mixer.checks).toHaveLength(2);
  await handle.close();
});

test('quota from the route ServiceConfig: granted 0 → 429 RESOURCE_EXHAUSTED', async () => {
  mixer.answer = () => ({ code: 0, granted: 0 });
  const { run, handle } = setup();
  const perRoute = {
    mixer: {
      disableCheck: false,
      disableReport: false,
      attributes: { 'destination.service.host': 'ratings.default.svc.cluster.local' },
      forwardAttributes: {},
      quotaRules: [{ match: [], quotas: [{ quota: 'requestcount', charge: 1 }] }],
    },
  };
  const { result } = await run({ perRoute });
  expect(result).toMatchObject({
    status: 429,
    body: 'RESOURCE_EXHAUSTED:Quota is exhausted for: requestcount',
    flag: 'UAEX',
  });
  // prefetch: a first request asks best effort for its own charge (no recent rate yet)
  expect(mixer.quotas[0]).toEqual({ requestcount: { amount: 1, best_effort: true } });
  expect(mixer.checks[0].get('destination.service.host')).toBe('ratings.default.svc.cluster.local');
  await handle.close();
});

describe('Mixer unreachable', () => {
  const dead = { check_cluster: '127.0.0.1:1', report_cluster: '127.0.0.1:1' };
  test('FAIL_CLOSE answers 503 and counts it', async () => {
    const { run, stats, handle } = setup({ transport: { ...dead, network_fail_policy: { policy: 'FAIL_CLOSE' } } });
    const { result } = await run();
    expect(result).toMatchObject({ status: 503, flag: 'UAEX' });
    expect(result?.body).toMatch(/^UNAVAILABLE:/);
    expect(stats.value('http_mixer_filter.total_check_fail_close')).toBe(1);
    await handle.close();
  });
  test('FAIL_OPEN lets the request through and counts it', async () => {
    const { run, stats, handle } = setup({ transport: { ...dead, network_fail_policy: { policy: 'FAIL_OPEN' } } });
    expect((await run()).result).toBeUndefined();
    expect(stats.value('http_mixer_filter.total_check_fail_open')).toBe(1);
    await handle.close();
  });
  test('a per-service disable skips Check entirely', async () => {
    const { run, stats, handle } = setup({
      transport: { ...dead },
      service_configs: { 'reviews.default.svc.cluster.local': { disable_check_calls: true } },
      default_destination_service: 'reviews.default.svc.cluster.local',
    });
    expect((await run()).result).toBeUndefined();
    expect(stats.value('http_mixer_filter.total_check_calls')).toBe(0);
    await handle.close();
  });
});

test('response.headers is reported as the filter saw the response, with or without an access log on the listener', async () => {
  const { run, handle } = setup();
  const info = { responseCode: 201, duration: 3, bytesReceived: 0, bytesSent: 5, responseFlags: [] };
  // no access log: nothing else keeps the headers on the stream info
  const first = await run();
  Object.assign(first.stream.info, info);
  const headers: Record<string, string | string[]> = { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] };
  first.f.onResponse?.(first.stream, { status: 201, headers });
  headers['content-type'] = 'edited later'; // the report keeps what went by the filter
  first.f.onComplete?.(first.stream);
  // a filter that never saw response headers falls back to the stream info's copy
  const second = await run();
  Object.assign(second.stream.info, info, { responseHeaders: { server: 'istio-envoy' } });
  second.f.onComplete?.(second.stream);
  await waitFor(() => mixer.reports.length === 2, { timeoutMs: 5000 });
  expect(mixer.reports[0].get('response.headers')).toEqual({ 'content-type': 'text/plain', 'set-cookie': 'a=1,b=2' });
  expect(mixer.reports[1].get('response.headers')).toEqual({ server: 'istio-envoy' });
  await handle.close();
});

test('reports are batched off the request path: flushed at maxEntries and after the delay', async () => {
  const clock = new FakeClock(Date.now());
  const { run, stats, handle } = setup({}, clock);
  const info = (code: number) =>
    ({
      responseCode: code,
      duration: 12,
      bytesReceived: 10,
      bytesSent: 99,
      responseFlags: [],
    }) as unknown as StreamInfo;
  for (const code of [200, 503, 404]) {
    const { stream, f } = await run();
    Object.assign(stream.info, info(code));
    f.onComplete?.(stream);
  }
  // two were sent at once (maxEntries 2); the third waits for the timer
  await waitFor(() => mixer.reports.length === 2, { timeoutMs: 5000 });
  clock.advance(1000);
  await waitFor(() => mixer.reports.length === 3, { timeoutMs: 5000 });
  expect(mixer.reports.map((b) => b.get('response.code'))).toEqual([200, 503, 404]);
  expect(mixer.reports[0].get('response.duration')).toBe(12);
  expect(mixer.reports[0].get('response.size')).toBe(99);
  // Mixer records a Report before its answer reaches the filter, which counts the success then
  await waitFor(() => stats.value('http_mixer_filter.total_remote_report_successes') === 2, { timeoutMs: 5000 });
  await handle.close();
});

test('forward_attributes travel in x-istio-attributes and are read by the next hop', async () => {
  const { run, handle } = setup({
    forward_attributes: { attributes: { 'source.uid': { string_value: 'kubernetes://productpage-v1.default' } } },
    transport: {},
  });
  const { stream } = await run();
  const header = stream.headers[FORWARD_HEADER] as string;
  expect(forwardedAttributes(header)).toEqual({ 'source.uid': 'kubernetes://productpage-v1.default' });
  await handle.close();
  const next = setup();
  await next.run({ headers: { [FORWARD_HEADER]: header } });
  expect(mixer.checks[0].get('source.uid')).toBe('kubernetes://productpage-v1.default');
  await next.handle.close();
});

test('quota prefetch: the surplus of a best-effort grant serves later requests locally', async () => {
  mixer.answer = () => ({ code: 0, granted: 5 });
  const { run, stats, handle } = setup();
  const perRoute = {
    mixer: {
      disableCheck: false,
      disableReport: false,
      attributes: {},
      forwardAttributes: {},
      quotaRules: [{ match: [], quotas: [{ quota: 'requestcount', charge: 1 }] }],
    },
  };
  for (let i = 0; i < 5; i++) expect((await run({ perRoute, headers: { 'x-user': 'jason' } })).result).toBeUndefined();
  expect(mixer.checks).toHaveLength(1);
  expect(stats.value('http_mixer_filter.total_quota_cache_hits')).toBe(4);
  await run({ perRoute, headers: { 'x-user': 'jason' } });
  expect(mixer.checks).toHaveLength(2);
  await handle.close();
});

test('quota prefetch asks for what the recent rate predicts: one charge when slow, up to 5× in a burst', async () => {
  // The Mixer grants exactly the charge, so every request goes remote and shows its ask.
  mixer.answer = () => ({ code: 0, granted: 1 });
  const clock = new FakeClock(Date.now());
  const { run, handle } = setup({}, clock);
  const perRoute = {
    mixer: {
      disableCheck: false,
      disableReport: false,
      attributes: {},
      forwardAttributes: {},
      quotaRules: [{ match: [], quotas: [{ quota: 'requestcount', charge: 1 }] }],
    },
  };
  const asked = () => (mixer.quotas.at(-1)?.['requestcount'] as { amount: number }).amount;
  const seen: number[] = [];
  // slow: one request every 2 s (grants are valid for 1 s) never asks for more than it needs
  for (let i = 0; i < 3; i++) {
    await run({ perRoute });
    seen.push(asked());
    clock.advance(2000);
  }
  // a burst within the validity asks for more each time, capped at 5× the charge
  for (let i = 0; i < 7; i++) {
    await run({ perRoute });
    seen.push(asked());
  }
  expect(seen).toEqual([1, 1, 1, 1, 2, 3, 4, 5, 5, 5]);
  await handle.close();
});

test('without a Check the request goes on at once, and each Report has its static attributes', async () => {
  const svc = 'reviews.default.svc.cluster.local';
  const { handle, make } = setup({
    service_configs: {
      [svc]: {
        disable_check_calls: true,
        mixer_attributes: { attributes: { 'destination.service.host': { string_value: svc } } },
      },
    },
    default_destination_service: svc,
  });
  const caller = (uid: string) => encodeForwarded({ 'source.uid': uid, 'context.reporter.kind': 'from-caller' });
  const callers = ['kubernetes://a.default', 'kubernetes://b.default', 'kubernetes://a.default'];
  for (const [i, uid] of callers.entries()) {
    const stream = fakeStream({ path: `/r${i}`, headers: { [FORWARD_HEADER]: caller(uid) } });
    const f = make();
    // not a promise: the router starts in the same tick
    expect(f.onRequest?.(stream)).toBeUndefined();
    expect(stream.headers[FORWARD_HEADER]).toBeUndefined();
    // left as an undefined value (no delete), which the upstream codecs skip
    const head = { method: 'GET', path: '/', authority: 'reviews', scheme: 'http', headers: stream.headers };
    expect(serializeHead(head, false)).not.toContain(FORWARD_HEADER);
    Object.assign(stream.info, { responseCode: 200 + i, duration: 1, bytesReceived: 0, bytesSent: 1 });
    f.onComplete?.(stream);
  }
  await handle.close();
  expect(mixer.checks).toHaveLength(0);
  expect(
    mixer.reports.map((b) => [
      b.get('source.uid'),
      b.get('context.reporter.kind'),
      b.get('destination.service.host'),
      b.get('request.path'),
      b.get('response.code'),
    ]),
  ).toEqual(callers.map((uid, i) => [uid, 'inbound', svc, `/r${i}`, 200 + i]));
});

test('with Check off the Report is built at completion from what the filter saw: the same attributes as with Check, later edits unseen', async () => {
  const svc = 'reviews.default.svc.cluster.local';
  const start = Date.now();
  const report = async (disableCheck: boolean) => {
    mixer.reports = [];
    const clock = new FakeClock(start);
    const { handle, make } = setup(
      {
        service_configs: {
          [svc]: {
            disable_check_calls: disableCheck,
            mixer_attributes: { attributes: { 'destination.service.host': { string_value: svc } } },
          },
        },
        default_destination_service: svc,
      },
      clock,
    );
    const stream = fakeStream({
      path: '/reviews/1',
      headers: { 'x-user': 'jason', 'user-agent': 'curl/8', 'x-request-id': 'r-1' },
      peerIdentity: 'spiffe://cluster.local/ns/default/sa/productpage',
    });
    const f = make();
    await f.onRequest?.(stream);
    // the router and later filters edit the request after the mixer filter saw it
    stream.headers['x-user'] = 'edited';
    stream.headers['x-envoy-expected-rq-timeout-ms'] = '15000';
    stream.path = '/rewritten';
    clock.advance(7);
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    f.onResponse?.(stream, { status: 503, headers });
    Object.assign(stream.info, {
      responseCode: 503,
      duration: 7,
      bytesReceived: 3,
      bytesSent: 19,
      responseFlags: ['UF', 'URX'],
      grpcStatus: 14,
      upstreamCluster: 'outbound|9080|v1|reviews.default.svc.cluster.local',
    });
    f.onComplete?.(stream);
    // a stream object reused or edited after completion changes nothing either
    headers['content-type'] = 'edited';
    Object.assign(stream.info, { responseCode: 200, bytesSent: 0, responseFlags: [] });
    await handle.close();
    expect(mixer.reports).toHaveLength(1);
    return mixer.reports[0].toRecord();
  };
  const withCheck = await report(false);
  const fromFacts = await report(true);
  expect(withCheck['check.cache_hit']).toBeUndefined(); // a remote Check, nothing of it reported
  expect(fromFacts).toEqual(withCheck);
  expect(fromFacts).toMatchObject({
    'request.path': '/reviews/1',
    'request.headers': { 'x-user': 'jason', 'user-agent': 'curl/8', 'x-request-id': 'r-1', ':path': '/reviews/1' },
    'request.useragent': 'curl/8',
    'request.id': 'r-1',
    'source.principal': 'cluster.local/ns/default/sa/productpage',
    'response.code': 503,
    'response.headers': { 'content-type': 'text/plain' },
    'response.grpc_status': '14',
    'context.proxy_error_code': 'UF,URX',
    'response.size': 19,
    'destination.service.host': svc,
  });
  expect(Object.keys(fromFacts['request.headers'] as object)).not.toContain('x-envoy-expected-rq-timeout-ms');
});
