import http2 from 'node:http2';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { FakeClock, SequenceRandom } from '@tsmesh/core';
import { httpRequest } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import { httpListenerYaml, pump, staticClusterYaml, testEngine, until, yamlSnapshot } from '../engine/testing';
import type { StreamInfo } from './stream-info';

/** How the upstream fails a stream: RST_STREAM with a code, or closing the whole TCP connection. */
type Failure = 'refuse' | 'cancel' | 'internal' | 'close';

const RST_CODES: Record<Exclude<Failure, 'close'>, number> = {
  refuse: http2.constants.NGHTTP2_REFUSED_STREAM,
  cancel: http2.constants.NGHTTP2_CANCEL,
  internal: http2.constants.NGHTTP2_INTERNAL_ERROR,
};

/** An h2c upstream that fails its first `failures` streams as `how` says, then answers 200 `h2`. */
async function failingUpstream(failures: number, how: Failure = 'refuse') {
  let streams = 0;
  const server = http2.createServer();
  // The connection under the current session, to close it without a GOAWAY (node hides the socket).
  let socket: net.Socket | undefined;
  server.on('connection', (c: net.Socket) => (socket = c));
  server.on('stream', (stream) => {
    streams++;
    // Closing with a non-zero code also reports it as an error on this (server) side.
    stream.on('error', () => undefined);
    if (streams <= failures) {
      if (how === 'close') return socket?.destroy();
      return stream.close(RST_CODES[how]);
    }
    stream.respond({ ':status': 200 });
    stream.end('h2');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    streams: () => streams,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const routeYaml = (retry: string) => `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route: {cluster: h2, retry_policy: ${retry}}
`;

describe('router: upstream stream resets (UR) and connection termination (UC) from an HTTP/2 upstream, retry_on, backoff', () => {
  let dp: Dataplane;
  let clock: FakeClock;
  let infos: StreamInfo[];
  let up: Awaited<ReturnType<typeof failingUpstream>>;
  afterEach(async () => {
    await dp?.stop();
    await up?.close();
  });

  /** The route timeout plus the retry backoff timer: the refusal has reached the router. */
  const retryScheduled = () => until(() => clock.pending() === 2);

  async function start(failures: number, retry: string, random: number, how?: Failure): Promise<string> {
    up = await failingUpstream(failures, how);
    clock = new FakeClock();
    dp = testEngine({ clock, random: new SequenceRandom([random]) });
    infos = [];
    dp.onStreamComplete((i) => infos.push(i));
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [routeYaml(retry)],
        clusters: [staticClusterYaml('h2', [up.address], 'http2_protocol_options: {}')],
      }),
    );
    return `http://${dp.address('l')}`;
  }

  it('retries a refused stream on the same session and counts upstream_rq_retry', async () => {
    const base = await start(1, '{retry_on: refused-stream, num_retries: 2}', 0);
    const r = await pump(clock, httpRequest(`${base}/`));
    expect([r.status, r.body]).toEqual([200, 'h2']);
    expect(up.streams()).toBe(2);
    expect(dp.stats.value('cluster.h2.upstream_rq_retry')).toBe(1);
    expect(dp.stats.value('cluster.h2.upstream_rq_retry_success')).toBe(1);
    expect(dp.stats.value('cluster.h2.upstream_rq_total')).toBe(2);
    expect(dp.stats.value('cluster.h2.upstream_rq_200')).toBe(1);
    await until(() => infos.length === 1);
    expect(infos[0].attemptCount).toBe(2);
  });

  it('answers 503 UR (remote refused stream reset) without a retry when retry_on names neither refused-stream nor 5xx', async () => {
    const base = await start(1, '{retry_on: connect-failure, num_retries: 2}', 0);
    const r = await pump(clock, httpRequest(`${base}/`));
    expect([r.status, r.body]).toEqual([
      503,
      'upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset',
    ]);
    expect(up.streams()).toBe(1);
    expect(dp.stats.value('cluster.h2.upstream_rq_retry')).toBe(0);
    await until(() => infos.length === 1);
    expect(infos[0].responseFlags).toEqual(['UR']);
  });

  const body = (reason: string) => `upstream connect error or disconnect/reset before headers. reset reason: ${reason}`;

  it.each(['cancel', 'internal'] as const)(
    'a RST_STREAM %s from the upstream answers 503 UR "remote reset" and counts upstream_rq_rx_reset',
    async (how) => {
      const base = await start(1, '{retry_on: connect-failure, num_retries: 2}', 0, how);
      const r = await pump(clock, httpRequest(`${base}/`));
      expect([r.status, r.body]).toEqual([503, body('remote reset')]);
      expect(up.streams()).toBe(1);
      expect(dp.stats.value('cluster.h2.upstream_rq_rx_reset')).toBe(1);
      expect(dp.stats.value('cluster.h2.upstream_rq_retry')).toBe(0);
      await until(() => infos.length === 1);
      expect(infos[0].responseFlags).toEqual(['UR']);
    },
  );

  it('the upstream closing the connection under the stream answers 503 UC "connection termination"', async () => {
    const base = await start(1, '{retry_on: refused-stream, num_retries: 2}', 0, 'close');
    const r = await pump(clock, httpRequest(`${base}/`));
    expect([r.status, r.body]).toEqual([503, body('connection termination')]);
    expect(up.streams()).toBe(1);
    expect(dp.stats.value('cluster.h2.upstream_rq_rx_reset')).toBe(0);
    expect(dp.stats.value('cluster.h2.upstream_rq_retry')).toBe(0);
    await until(() => infos.length === 1);
    expect(infos[0].responseFlags).toEqual(['UC']);
  });

  it('a refused stream does not count upstream_rq_rx_reset (Envoy counts only remote resets there)', async () => {
    const base = await start(1, '{retry_on: connect-failure, num_retries: 2}', 0, 'refuse');
    expect((await pump(clock, httpRequest(`${base}/`))).status).toBe(503);
    expect(dp.stats.value('cluster.h2.upstream_rq_rx_reset')).toBe(0);
  });

  it.each([
    ['reset', 'cancel'],
    ['reset', 'internal'],
    ['reset', 'refuse'],
    ['reset', 'close'],
    ['gateway-error', 'internal'],
    ['gateway-error', 'close'],
    ['5xx', 'cancel'],
  ] as const)('retry_on %s retries after the upstream failure "%s"; the retry answers 200', async (retryOn, how) => {
    const base = await start(1, `{retry_on: ${retryOn}, num_retries: 2}`, 0, how);
    const r = await pump(clock, httpRequest(`${base}/`));
    expect([r.status, r.body]).toEqual([200, 'h2']);
    expect(up.streams()).toBe(2);
    expect(dp.stats.value('cluster.h2.upstream_rq_retry')).toBe(1);
    expect(dp.stats.value('cluster.h2.upstream_rq_retry_success')).toBe(1);
    await until(() => infos.length === 1);
    expect(infos[0].responseFlags).toEqual([]);
    expect(infos[0].attemptCount).toBe(2);
  });

  it.each([
    ['refused-stream', 'cancel', 'UR', 'remote reset'],
    ['refused-stream', 'close', 'UC', 'connection termination'],
    ['connect-failure', 'internal', 'UR', 'remote reset'],
  ] as const)('retry_on %s does not retry the upstream failure "%s": 503 %s', async (retryOn, how, flag, reason) => {
    const base = await start(1, `{retry_on: ${retryOn}, num_retries: 2}`, 0, how);
    const r = await pump(clock, httpRequest(`${base}/`));
    expect([r.status, r.body]).toEqual([503, body(reason)]);
    expect(up.streams()).toBe(1);
    expect(dp.stats.value('cluster.h2.upstream_rq_retry')).toBe(0);
    await until(() => infos.length === 1);
    expect(infos[0].responseFlags).toEqual([flag]);
  });

  it('retries exhausted on remote resets: 503 UR with URX and upstream_rq_retry_limit_exceeded', async () => {
    const base = await start(3, '{retry_on: reset, num_retries: 2}', 0, 'internal');
    const r = await pump(clock, httpRequest(`${base}/`));
    expect([r.status, r.body]).toEqual([503, body('remote reset')]);
    expect(up.streams()).toBe(3);
    expect(dp.stats.value('cluster.h2.upstream_rq_retry')).toBe(2);
    expect(dp.stats.value('cluster.h2.upstream_rq_retry_limit_exceeded')).toBe(1);
    expect(dp.stats.value('cluster.h2.upstream_rq_rx_reset')).toBe(3);
    await until(() => infos.length === 1);
    expect([...infos[0].responseFlags].sort()).toEqual(['UR', 'URX']);
  });

  it('waits random × min(250 ms, (2^n − 1) × 25 ms) before retry n (fake clock and random)', async () => {
    // random 0.8: ceilings 25, 75, 175, 250 (cap = 10 × base), 250 → waits 20, 60, 140, 200, 200 ms.
    const base = await start(5, '{retry_on: refused-stream, num_retries: 5}', 0.8);
    const p = httpRequest(`${base}/`);
    await until(() => up.streams() === 1);
    for (const [n, wait] of [20, 60, 140, 200, 200].entries()) {
      await retryScheduled();
      clock.advance(wait - 1);
      await new Promise((r) => setTimeout(r, 20));
      expect(up.streams()).toBe(n + 1);
      clock.advance(1);
      await until(() => up.streams() === n + 2);
    }
    const r = await p;
    expect([r.status, r.body]).toEqual([200, 'h2']);
    expect(dp.stats.value('cluster.h2.upstream_rq_retry')).toBe(5);
    expect(dp.stats.value('cluster.h2.upstream_rq_retry_success')).toBe(1);
  });

  it('honours retry_back_off base_interval and max_interval', async () => {
    // base 10 ms, max 30 ms, random 0.5: ceilings 10, 30, 30 → waits 5, 15, 15 ms.
    const base = await start(
      3,
      '{retry_on: refused-stream, num_retries: 3, retry_back_off: {base_interval: 0.01s, max_interval: 0.03s}}',
      0.5,
    );
    const p = httpRequest(`${base}/`);
    await until(() => up.streams() === 1);
    for (const [n, wait] of [5, 15, 15].entries()) {
      await retryScheduled();
      clock.advance(wait - 1);
      await new Promise((r) => setTimeout(r, 20));
      expect(up.streams()).toBe(n + 1);
      clock.advance(1);
      await until(() => up.streams() === n + 2);
    }
    expect((await p).status).toBe(200);
    expect(dp.stats.value('cluster.h2.upstream_rq_retry')).toBe(3);
  });
});
