import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { FakeClock, SequenceRandom } from '@tsmesh/core';
import { httpRequest } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import { httpListenerYaml, pump, staticClusterYaml, testEngine, until, yamlSnapshot } from '../engine/testing';
import type { StreamInfo } from './stream-info';

/** An h2c upstream that refuses its first `refusals` streams with REFUSED_STREAM, then answers 200 `h2`. */
async function refusingUpstream(refusals: number) {
  let streams = 0;
  const server = http2.createServer();
  server.on('stream', (stream) => {
    streams++;
    // Closing with a non-zero code also reports it as an error on this (server) side.
    stream.on('error', () => undefined);
    if (streams <= refusals) return stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
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

describe('router: retry_on refused-stream against an HTTP/2 upstream, backoff growth and cap', () => {
  let dp: Dataplane;
  let clock: FakeClock;
  let infos: StreamInfo[];
  let up: Awaited<ReturnType<typeof refusingUpstream>>;
  afterEach(async () => {
    await dp?.stop();
    await up?.close();
  });

  /** The route timeout plus the retry backoff timer: the refusal has reached the router. */
  const retryScheduled = () => until(() => clock.pending() === 2);

  async function start(refusals: number, retry: string, random: number): Promise<string> {
    up = await refusingUpstream(refusals);
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
