// MixerTransport (Check/Report over node:http2) against a scripted Mixer on loopback (./testing):
// a server that accepts a call and never answers, and one that answers a status chosen per call.
import { GrpcStatus, SequenceRandom, type FieldError, type Random } from '@tsmesh/core';
import type { LocalReply } from '../../types';
import { factoryContext, fakeStream } from '../jwt_authn/testing';
import { mixerFilterWith } from './index';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './config';
import { OK_ANSWER, RecordingClock, ScriptedMixer, unavailable } from './testing';
import { DEFAULT_TRANSPORT, MixerTransport, retryDelayMs, TransportError, type TransportOptions } from './transport';

// a Check as the sidecar sends it (bytes already encoded); the server does not read it
const CHECK_BYTES = Buffer.from('0a00', 'hex');

const mixer = new ScriptedMixer();
const open: MixerTransport[] = [];
beforeAll(() => mixer.start());
afterEach(() => open.splice(0).forEach((t) => t.close()));
afterAll(() => mixer.stop());

// generous: answers that do come are never late, even on a loaded machine; only 'hang' reaches it
const GENEROUS: Partial<TransportOptions> = { checkTimeoutMs: 10_000, reportTimeoutMs: 10_000 };

function transport(opts: Partial<TransportOptions>, random: Random = new SequenceRandom([0.5])) {
  const clock = new RecordingClock();
  const failures: number[] = [];
  const t = new MixerTransport(mixer.address, { ...DEFAULT_TRANSPORT, ...GENEROUS, ...opts }, clock, random, (e) =>
    failures.push(e.code),
  );
  open.push(t);
  return { t, clock, retries: () => failures.length, failures };
}

const retry = (p: Partial<RetryPolicy>): RetryPolicy => ({ ...DEFAULT_RETRY_POLICY, ...p });

const rejection = (p: Promise<unknown>): Promise<TransportError> =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(TransportError);
      return e as TransportError;
    },
  );

test("the defaults are istio/proxy's: 1 s Check deadline, 5 s Report deadline; no retries, waits from 80 ms up to 1 s", () => {
  expect(DEFAULT_TRANSPORT).toEqual({ checkTimeoutMs: 1000, reportTimeoutMs: 5000 });
  expect(DEFAULT_RETRY_POLICY).toEqual({ maxRetry: 0, baseRetryMs: 80, maxRetryMs: 1000 });
});

describe('a Mixer that accepts the call and never answers', () => {
  test('Check fails at its deadline with DEADLINE_EXCEEDED (sent as grpc-timeout); each retry is a new call with its own deadline', async () => {
    mixer.reset(['hang']);
    const { t, clock, failures } = transport({ checkTimeoutMs: 200 });
    const e = await rejection(t.check(CHECK_BYTES, retry({ maxRetry: 2 })));
    expect(e.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    const call = expect.objectContaining({ path: '/istio.mixer.v1.Mixer/Check', grpcTimeout: '200m' });
    expect(mixer.calls).toEqual([call, call, call]);
    expect(failures).toEqual([GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.DEADLINE_EXCEEDED]);
    expect(clock.sleeps).toHaveLength(2);
  });

  test('Report fails at its own deadline', async () => {
    mixer.reset(['hang']);
    const { t } = transport({ checkTimeoutMs: 10_000, reportTimeoutMs: 200 });
    const e = await rejection(t.report(Buffer.alloc(0)));
    expect(e.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(mixer.calls).toEqual([
      expect.objectContaining({ path: '/istio.mixer.v1.Mixer/Report', grpcTimeout: '200m' }),
    ]);
  });
});

describe('Check retries (NetworkFailPolicy max_retry, base_retry_wait, max_retry_wait)', () => {
  test('maxRetry 2: two UNAVAILABLE answers then OK; the Check returns the third answer, each attempt the same request', async () => {
    mixer.reset([unavailable(), unavailable(), OK_ANSWER]);
    const { t, clock, retries } = transport({}, new SequenceRandom([0.5, 0.25]));
    const res = await t.check<{ precondition: { status: { code: number }; valid_use_count: number } }>(
      CHECK_BYTES,
      retry({ maxRetry: 2 }),
    );
    expect(res.precondition).toMatchObject({ status: { code: 0 }, valid_use_count: 3 });
    expect(mixer.calls).toHaveLength(3);
    for (const c of mixer.calls) expect(c.message).toEqual(CHECK_BYTES);
    expect(retries()).toBe(2);
    // retry 0 draws from [80, 80], retry 1 from [80, 160]: 80 + ⌊0.25 × 81⌋
    expect(clock.sleeps).toEqual([80, 100]);
  });

  test('maxRetry 0 (the default): the first UNAVAILABLE is the answer', async () => {
    mixer.reset([unavailable('mixer is draining'), OK_ANSWER]);
    const { t, clock, retries } = transport({});
    const e = await rejection(t.check(CHECK_BYTES));
    expect(e.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(e.message).toBe('mixer is draining');
    expect(mixer.calls).toHaveLength(1);
    expect(retries()).toBe(0);
    expect(clock.sleeps).toEqual([]);
  });

  test('maxRetry 2 against a Mixer that stays UNAVAILABLE: three calls, then the last failure', async () => {
    mixer.reset([unavailable('still draining')]);
    const { t, retries } = transport({});
    const e = await rejection(t.check(CHECK_BYTES, retry({ maxRetry: 2 })));
    expect(e).toMatchObject({ code: GrpcStatus.UNAVAILABLE, message: 'still draining' });
    expect(mixer.calls).toHaveLength(3);
    expect(retries()).toBe(2);
  });

  test('retry n waits a whole number of ms uniform in [base, min(max, base·2ⁿ)]: 80 ms doubling, capped at 1 s', async () => {
    mixer.reset([unavailable()]);
    const draws = [0.5, 0.25, 0.75, 0.1, 0.9, 0.3];
    const { t, clock, retries } = transport({}, new SequenceRandom(draws));
    const e = await rejection(t.check(CHECK_BYTES, retry({ maxRetry: 6 })));
    expect(e.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(mixer.calls).toHaveLength(7);
    expect(retries()).toBe(6);
    // ranges [80,80], [80,160], [80,320], [80,640], then [80,1000] twice (not 1280, 2560)
    expect(clock.sleeps).toEqual([80, 100, 260, 136, 908, 356]);
  });

  test('the waits follow a configured base and max: never under the base, never over the max', () => {
    const policy = retry({ maxRetry: 5, baseRetryMs: 10, maxRetryMs: 25 });
    const highest = new SequenceRandom([1 - 2 ** -20]);
    expect([0, 1, 2, 3, 4].map((n) => retryDelayMs(highest, n, policy))).toEqual([10, 20, 25, 25, 25]);
    const lowest = new SequenceRandom([0]);
    expect([0, 1, 2, 3, 4].map((n) => retryDelayMs(lowest, n, policy))).toEqual([10, 10, 10, 10, 10]);
    // a zero base retries at once
    expect(retryDelayMs(highest, 3, retry({ baseRetryMs: 0, maxRetryMs: 0 }))).toBe(0);
  });

  test('a refused connection is retried the same way', async () => {
    const clock = new RecordingClock();
    const failures: number[] = [];
    const t = new MixerTransport(
      // nothing listens on port 1: the connection error is UNAVAILABLE
      '127.0.0.1:1',
      { ...DEFAULT_TRANSPORT, ...GENEROUS },
      clock,
      new SequenceRandom([1 - 2 ** -20]),
      (e) => failures.push(e.code),
    );
    open.push(t);
    const e = await rejection(t.check(CHECK_BYTES, retry({ maxRetry: 2 })));
    expect(e.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(failures).toEqual([GrpcStatus.UNAVAILABLE, GrpcStatus.UNAVAILABLE]);
    // a draw just under 1 waits the top of each range
    expect(clock.sleeps).toEqual([80, 160]);
  });

  // istio/proxy retries a Check whose call failed in any way (its TransportStatus is not OK); a
  // denial is an OK call with a non-OK precondition status, and is never retried
  test.each([
    ['CANCELLED', GrpcStatus.CANCELLED],
    ['UNKNOWN', GrpcStatus.UNKNOWN],
    ['INVALID_ARGUMENT', GrpcStatus.INVALID_ARGUMENT],
    ['PERMISSION_DENIED', GrpcStatus.PERMISSION_DENIED],
    ['RESOURCE_EXHAUSTED', GrpcStatus.RESOURCE_EXHAUSTED],
    ['UNIMPLEMENTED', GrpcStatus.UNIMPLEMENTED],
    ['INTERNAL', GrpcStatus.INTERNAL],
    ['UNAUTHENTICATED', GrpcStatus.UNAUTHENTICATED],
  ])('a call that fails with %s is retried too', async (_name, code) => {
    mixer.reset([{ code, message: 'no' }, OK_ANSWER]);
    const { t, failures } = transport({});
    await t.check(CHECK_BYTES, retry({ maxRetry: 1 }));
    expect(mixer.calls).toHaveLength(2);
    expect(failures).toEqual([code]);
  });

  test('a denial (an OK call whose precondition is not OK) is an answer, not retried', async () => {
    mixer.reset([{ check: { precondition: { status: { code: GrpcStatus.PERMISSION_DENIED, message: 'no' } } } }]);
    const { t, retries } = transport({});
    const res = await t.check<{ precondition: { status: { code: number } } }>(CHECK_BYTES, retry({ maxRetry: 3 }));
    expect(res.precondition.status.code).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(mixer.calls).toHaveLength(1);
    expect(retries()).toBe(0);
  });

  test('a Report is never retried, even on UNAVAILABLE (failures are counted by the batcher)', async () => {
    mixer.reset([unavailable(), { check: {} }]);
    const { t, retries } = transport({});
    const e = await rejection(t.report(Buffer.alloc(0)));
    expect(e.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(mixer.calls).toHaveLength(1);
    expect(retries()).toBe(0);
  });
});

describe('through the mixer filter, the policy from its config', () => {
  function filterWith(policy: Record<string, unknown>, transportOpts: Partial<TransportOptions> = GENEROUS) {
    const filter = mixerFilterWith({ transport: transportOpts });
    const errors: FieldError[] = [];
    const config = filter.parseConfig(
      { transport: { check_cluster: mixer.address, network_fail_policy: policy } },
      'typed_config',
      errors,
    );
    expect(errors).toEqual([]);
    const clock = new RecordingClock();
    const fctx = factoryContext('mixer', clock);
    const make = filter.create(config, fctx);
    const run = async () => (await make().onRequest?.(fakeStream({ path: '/reviews' }))) as LocalReply | undefined;
    const stat = (name: string) => fctx.stats.value(`http_mixer_filter.${name}`);
    return { run, stat, clock, close: () => filter.handle.close() };
  }

  test('a hung Mixer with FAIL_CLOSE and max_retry 2: 504 DEADLINE_EXCEEDED after three attempts, each counted as a timeout', async () => {
    mixer.reset(['hang']);
    const { run, stat, close } = filterWith({ policy: 'FAIL_CLOSE', max_retry: 2 }, { checkTimeoutMs: 200 });
    try {
      const reply = await run();
      expect(reply).toMatchObject({ status: 504, flag: 'UAEX', details: 'mixer_unreachable' });
      expect(reply?.body).toMatch(/^DEADLINE_EXCEEDED:/);
      expect(mixer.calls).toHaveLength(3);
      expect(stat('total_remote_call_timeouts')).toBe(3);
      expect(stat('total_remote_call_send_errors')).toBe(0);
      expect(stat('total_remote_call_retries')).toBe(2);
      expect(stat('total_check_fail_close')).toBe(1);
    } finally {
      await close();
    }
  });

  test('a hung Mixer with FAIL_OPEN: the request goes on at the check deadline, counted', async () => {
    mixer.reset(['hang']);
    const { run, stat, close } = filterWith({ policy: 'FAIL_OPEN' }, { checkTimeoutMs: 200 });
    try {
      expect(await run()).toBeUndefined();
      expect(stat('total_remote_call_timeouts')).toBe(1);
      expect(stat('total_check_fail_open')).toBe(1);
      expect(stat('total_check_fail_close')).toBe(0);
    } finally {
      await close();
    }
  });

  test('max_retry 2, FAIL_CLOSE: the request is let through on the third try; the waits follow base_retry_wait and max_retry_wait', async () => {
    mixer.reset([unavailable(), unavailable(), OK_ANSWER]);
    const { run, stat, clock, close } = filterWith({
      policy: 'FAIL_CLOSE',
      max_retry: 2,
      base_retry_wait: '0.1s',
      max_retry_wait: { seconds: 0, nanos: 150_000_000 },
    });
    try {
      expect(await run()).toBeUndefined();
      expect(mixer.calls).toHaveLength(3);
      // factoryContext's random draws 0.5: [100, 100] → 100, then [100, min(150, 200)] → 100 + ⌊0.5 × 51⌋
      expect(clock.sleeps).toEqual([100, 125]);
      expect(stat('total_remote_call_retries')).toBe(2);
      expect(stat('total_remote_call_send_errors')).toBe(2);
      expect(stat('total_remote_check_accepts')).toBe(1);
      expect(stat('total_check_fail_close')).toBe(0);
    } finally {
      await close();
    }
  });

  test('max_retry 0, FAIL_CLOSE: the first UNAVAILABLE fails closed with 503, counted as a send error', async () => {
    mixer.reset([unavailable(), OK_ANSWER]);
    const { run, stat, clock, close } = filterWith({ policy: 'FAIL_CLOSE', max_retry: 0 });
    try {
      const reply = await run();
      expect(reply).toMatchObject({ status: 503, flag: 'UAEX' });
      expect(reply?.body).toMatch(/^UNAVAILABLE:/);
      expect(mixer.calls).toHaveLength(1);
      expect(clock.sleeps).toEqual([]);
      expect(stat('total_remote_call_send_errors')).toBe(1);
      expect(stat('total_remote_call_retries')).toBe(0);
      expect(stat('total_check_fail_close')).toBe(1);
    } finally {
      await close();
    }
  });

  test('max_retry 1, FAIL_OPEN, a Mixer that stays UNAVAILABLE: two tries, then the request goes on', async () => {
    mixer.reset([unavailable()]);
    const { run, stat, clock, close } = filterWith({ policy: 'FAIL_OPEN', max_retry: 1 });
    try {
      expect(await run()).toBeUndefined();
      expect(mixer.calls).toHaveLength(2);
      // the defaults: [80, 80]
      expect(clock.sleeps).toEqual([80]);
      expect(stat('total_remote_call_retries')).toBe(1);
      expect(stat('total_check_fail_open')).toBe(1);
    } finally {
      await close();
    }
  });
});
