// MixerTransport (Check/Report over node:http2) against a scripted Mixer on loopback: a server
// that accepts a call and never answers, and one that answers a status chosen per call. The
// Mixer is a bare node:http2 server so that it keeps no deadline of its own (grpc-js would end
// the call itself at the grpc-timeout it was sent) and its answers are exactly what the test says.
import http2 from 'node:http2';
import { FakeClock, GrpcStatus, SequenceRandom, type FieldError, type Random } from '@tsmesh/core';
import { mixerServiceDefinition } from '@tsmesh/protocol';
import type { LocalReply } from '../../types';
import { factoryContext, fakeStream } from '../jwt_authn/testing';
import { mixerFilterWith } from './index';
import { DEFAULT_TRANSPORT, MixerTransport, TransportError, type TransportOptions } from './transport';

/** What the scripted Mixer does with one call. */
type Answer = 'hang' | { code: number; message?: string } | { check: Record<string, unknown> };

interface SeenCall {
  path: string;
  grpcTimeout: string;
  /** The request message (without its 5-byte gRPC prefix), once the client has sent it all. */
  message?: Buffer;
}

const checkResponseBytes = (res: Record<string, unknown>): Buffer =>
  (mixerServiceDefinition()['Check'].responseSerialize as (r: unknown) => Buffer)(res);

/** A length-prefixed gRPC message (uncompressed). */
function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

class ScriptedMixer {
  readonly calls: SeenCall[] = [];
  /** The answer to the n-th call; past its end, the last one. */
  script: Answer[] = [{ check: {} }];
  address = '';
  private readonly server = http2.createServer();
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  async start(): Promise<void> {
    this.server.on('session', (s) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
    });
    this.server.on('stream', (stream, headers) => this.serve(stream, headers));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as { port: number };
    this.address = `127.0.0.1:${port}`;
  }

  private serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const call: SeenCall = { path: String(headers[':path']), grpcTimeout: String(headers['grpc-timeout']) };
    const answer = this.script[Math.min(this.calls.length, this.script.length - 1)];
    this.calls.push(call);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    // a client that gives up resets the stream; nothing more to do then
    stream.on('error', () => undefined);
    stream.on('end', () => {
      call.message = Buffer.concat(chunks).subarray(5);
      if (answer === 'hang') return;
      if ('code' in answer) {
        // trailers-only: the status in the only HEADERS frame
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': String(answer.code),
            'grpc-message': answer.message ?? '',
          },
          { endStream: true },
        );
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      // ReportResponse has no fields: an empty message
      stream.end(grpcFrame(call.path.endsWith('/Check') ? checkResponseBytes(answer.check) : Buffer.alloc(0)));
    });
  }

  reset(script: Answer[]): void {
    this.calls.length = 0;
    this.script = script;
  }

  stop(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A fake clock whose sleeps are recorded and end at once: backoff delays are read, not waited for. */
class RecordingClock extends FakeClock {
  readonly sleeps: number[] = [];
  override sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.advance(ms);
    return Promise.resolve();
  }
}

const OK_ANSWER: Answer = {
  check: { precondition: { status: { code: 0 }, valid_duration: { seconds: 5 }, valid_use_count: 3 } },
};
const unavailable = (message = 'mixer is draining'): Answer => ({ code: GrpcStatus.UNAVAILABLE, message });
// a Check as the sidecar sends it (bytes already encoded); the server does not read it
const CHECK_BYTES = Buffer.from('0a00', 'hex');

const mixer = new ScriptedMixer();
const open: MixerTransport[] = [];
beforeAll(() => mixer.start());
afterEach(() => open.splice(0).forEach((t) => t.close()));
afterAll(() => mixer.stop());

function transport(opts: Partial<TransportOptions>, random: Random = new SequenceRandom([0.5])) {
  const clock = new RecordingClock();
  let retries = 0;
  const t = new MixerTransport(mixer.address, { ...DEFAULT_TRANSPORT, ...opts }, clock, random, () => retries++);
  open.push(t);
  return { t, clock, retries: () => retries };
}

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

test("DEFAULT_TRANSPORT is istio/proxy's: 1 s Check deadline, 5 s Report deadline, no retries, backoff 80 ms to 1 s", () => {
  expect(DEFAULT_TRANSPORT).toEqual({
    checkTimeoutMs: 1000,
    reportTimeoutMs: 5000,
    retries: 0,
    baseRetryMs: 80,
    maxRetryMs: 1000,
  });
});

describe('a Mixer that accepts the call and never answers', () => {
  test('Check fails at its deadline with DEADLINE_EXCEEDED (sent as grpc-timeout), and a timeout is not retried', async () => {
    mixer.reset(['hang']);
    const { t, clock, retries } = transport({ checkTimeoutMs: 200, retries: 2 });
    const e = await rejection(t.check(CHECK_BYTES));
    expect(e.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(mixer.calls).toEqual([
      expect.objectContaining({ path: '/istio.mixer.v1.Mixer/Check', grpcTimeout: '200m' }),
    ]);
    expect(retries()).toBe(0);
    expect(clock.sleeps).toEqual([]);
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

describe('retries on UNAVAILABLE', () => {
  test('retries: 2 — two UNAVAILABLE answers then OK: the call returns the third answer, each attempt the same request', async () => {
    mixer.reset([unavailable(), unavailable(), OK_ANSWER]);
    const { t, clock, retries } = transport({ retries: 2 }, new SequenceRandom([0.5, 0.25]));
    const res = await t.check<{ precondition: { status: { code: number }; valid_use_count: number } }>(CHECK_BYTES);
    expect(res.precondition).toMatchObject({ status: { code: 0 }, valid_use_count: 3 });
    expect(mixer.calls).toHaveLength(3);
    for (const c of mixer.calls) expect(c.message).toEqual(CHECK_BYTES);
    expect(retries()).toBe(2);
    // attempt n waits draw × min(1000, 80·2ⁿ): 0.5 × 80, then 0.25 × 160
    expect(clock.sleeps).toEqual([40, 40]);
  });

  test('retries: 0 — the first UNAVAILABLE is the answer', async () => {
    mixer.reset([unavailable('mixer is draining'), OK_ANSWER]);
    const { t, clock, retries } = transport({ retries: 0 });
    const e = await rejection(t.check(CHECK_BYTES));
    expect(e.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(e.message).toBe('mixer is draining');
    expect(mixer.calls).toHaveLength(1);
    expect(retries()).toBe(0);
    expect(clock.sleeps).toEqual([]);
  });

  test('the backoff is full jitter under a ceiling of 80 ms doubling per attempt, capped at 1 s', async () => {
    mixer.reset([unavailable()]);
    const draws = [0.5, 0.25, 0.75, 0.1, 0.9, 0.3];
    const { t, clock, retries } = transport({ retries: 6 }, new SequenceRandom(draws));
    const e = await rejection(t.check(CHECK_BYTES));
    expect(e.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(mixer.calls).toHaveLength(7);
    expect(retries()).toBe(6);
    // ceilings 80, 160, 320, 640, then 1000 (not 1280), 1000 (not 2560)
    const expected = [40, 40, 240, 64, 900, 300];
    expect(clock.sleeps).toHaveLength(expected.length);
    clock.sleeps.forEach((ms, i) => expect(ms).toBeCloseTo(expected[i], 9));
  });

  test('the same backoff applies to a connection that is refused', async () => {
    const clock = new RecordingClock();
    let retries = 0;
    const t = new MixerTransport(
      // nothing listens on port 1: the connection error is UNAVAILABLE too
      '127.0.0.1:1',
      { ...DEFAULT_TRANSPORT, retries: 2 },
      clock,
      new SequenceRandom([1 - 2 ** -20]),
      () => retries++,
    );
    open.push(t);
    const e = await rejection(t.check(CHECK_BYTES));
    expect(e.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(retries).toBe(2);
    expect(clock.sleeps).toHaveLength(2);
    // a draw just under 1 waits just under each ceiling, never on it
    expect(clock.sleeps[0]).toBeLessThan(80);
    expect(clock.sleeps[0]).toBeGreaterThan(79.99);
    expect(clock.sleeps[1]).toBeLessThan(160);
    expect(clock.sleeps[1]).toBeGreaterThan(159.99);
  });
});

describe('codes other than UNAVAILABLE are not retried', () => {
  test.each([
    ['CANCELLED', GrpcStatus.CANCELLED],
    ['UNKNOWN', GrpcStatus.UNKNOWN],
    ['INVALID_ARGUMENT', GrpcStatus.INVALID_ARGUMENT],
    ['DEADLINE_EXCEEDED', GrpcStatus.DEADLINE_EXCEEDED],
    ['PERMISSION_DENIED', GrpcStatus.PERMISSION_DENIED],
    ['RESOURCE_EXHAUSTED', GrpcStatus.RESOURCE_EXHAUSTED],
    ['UNIMPLEMENTED', GrpcStatus.UNIMPLEMENTED],
    ['INTERNAL', GrpcStatus.INTERNAL],
    ['UNAUTHENTICATED', GrpcStatus.UNAUTHENTICATED],
  ])('%s from Mixer fails the Check at once with retries: 3', async (_name, code) => {
    mixer.reset([{ code, message: 'no' }, OK_ANSWER]);
    const { t, clock, retries } = transport({ retries: 3 });
    const e = await rejection(t.check(CHECK_BYTES));
    expect(e.code).toBe(code);
    expect(mixer.calls).toHaveLength(1);
    expect(retries()).toBe(0);
    expect(clock.sleeps).toEqual([]);
  });

  test('a Report is never retried, even on UNAVAILABLE (failures are counted by the batcher)', async () => {
    mixer.reset([unavailable(), { check: {} }]);
    const { t, retries } = transport({ retries: 3 });
    const e = await rejection(t.report(Buffer.alloc(0)));
    expect(e.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(mixer.calls).toHaveLength(1);
    expect(retries()).toBe(0);
  });
});

describe('through the mixer filter', () => {
  function filterWith(policy: 'FAIL_CLOSE' | 'FAIL_OPEN', transportOpts: Partial<TransportOptions>) {
    const filter = mixerFilterWith({ transport: transportOpts });
    const errors: FieldError[] = [];
    const config = filter.parseConfig(
      { transport: { check_cluster: mixer.address, network_fail_policy: { policy } } },
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

  test('a hung Mixer with FAIL_CLOSE: 504 DEADLINE_EXCEEDED at the check deadline, counted as a timeout and a fail-close', async () => {
    mixer.reset(['hang']);
    const { run, stat, close } = filterWith('FAIL_CLOSE', { checkTimeoutMs: 200, retries: 2 });
    try {
      const reply = await run();
      expect(reply).toMatchObject({ status: 504, flag: 'UAEX', details: 'mixer_unreachable' });
      expect(reply?.body).toMatch(/^DEADLINE_EXCEEDED:/);
      expect(stat('total_remote_call_timeouts')).toBe(1);
      expect(stat('total_remote_call_send_errors')).toBe(0);
      expect(stat('total_check_fail_close')).toBe(1);
      expect(stat('total_remote_call_retries')).toBe(0);
    } finally {
      await close();
    }
  });

  test('a hung Mixer with FAIL_OPEN: the request goes on at the check deadline, counted', async () => {
    mixer.reset(['hang']);
    const { run, stat, close } = filterWith('FAIL_OPEN', { checkTimeoutMs: 200 });
    try {
      expect(await run()).toBeUndefined();
      expect(stat('total_remote_call_timeouts')).toBe(1);
      expect(stat('total_check_fail_open')).toBe(1);
      expect(stat('total_check_fail_close')).toBe(0);
    } finally {
      await close();
    }
  });

  test('retries: 2 — the request is let through after two UNAVAILABLE answers, the retries counted', async () => {
    mixer.reset([unavailable(), unavailable(), OK_ANSWER]);
    const { run, stat, clock, close } = filterWith('FAIL_CLOSE', { retries: 2 });
    try {
      expect(await run()).toBeUndefined();
      expect(mixer.calls).toHaveLength(3);
      // factoryContext's random draws 0.5
      expect(clock.sleeps).toEqual([40, 80]);
      expect(stat('total_remote_call_retries')).toBe(2);
      expect(stat('total_remote_check_accepts')).toBe(1);
      expect(stat('total_check_fail_close')).toBe(0);
    } finally {
      await close();
    }
  });

  test('retries: 0 — the first UNAVAILABLE fails closed with 503, counted as a send error', async () => {
    mixer.reset([unavailable(), OK_ANSWER]);
    const { run, stat, close } = filterWith('FAIL_CLOSE', { retries: 0 });
    try {
      const reply = await run();
      expect(reply).toMatchObject({ status: 503, flag: 'UAEX' });
      expect(reply?.body).toMatch(/^UNAVAILABLE:/);
      expect(mixer.calls).toHaveLength(1);
      expect(stat('total_remote_call_send_errors')).toBe(1);
      expect(stat('total_check_fail_close')).toBe(1);
    } finally {
      await close();
    }
  });
});
