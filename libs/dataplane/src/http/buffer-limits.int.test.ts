/**
 * Envoy's buffer limits: the listener's `per_connection_buffer_limit_bytes` bounds the request body
 * kept for retries and mirrors (a larger body is forwarded once and counted as
 * `retry_or_shadow_abandoned`), a route's or virtual host's `per_request_buffer_limit_bytes` lowers
 * it for its requests, and bad values are refused with their field path.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { SequenceRandom } from '@tsmesh/core';
import { httpRequest, waitFor } from '@tsmesh/testing';
import type { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  yamlSnapshot,
  type TestUpstream,
} from '../engine/testing';

const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const ROUTE_TYPE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

/** A route table with one retried route to `up`; `vhost` and `route` add lines to those levels. */
const routeYaml = (opts: { vhost?: string; route?: string; mirror?: boolean } = {}) => `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  ${opts.vhost ?? ''}
  routes:
  - match: {prefix: /}
    ${opts.route ?? ''}
    route:
      cluster: up
      retry_policy: {retry_on: 5xx, num_retries: 2, retry_back_off: {base_interval: 0.001s}}
${opts.mirror ? '      request_mirror_policies: [{cluster: shadow}]' : ''}
`;

describe('buffer limits: retry/shadow body buffer (listener and route limits)', () => {
  let dp: Dataplane | undefined;
  let up: TestUpstream | undefined;
  let shadow: TestUpstream | undefined;
  async function stopAll(): Promise<void> {
    await dp?.stop();
    await up?.close();
    await shadow?.close();
    dp = up = shadow = undefined;
  }
  afterEach(stopAll);

  /** The first request to the upstream is answered 503, later ones 200 `ok`. */
  async function start(listenerLimit: number | undefined, route: Parameters<typeof routeYaml>[0] = {}) {
    let n = 0;
    up = await startUpstream('up', (_req, res) => {
      res.writeHead(++n === 1 ? 503 : 200, { 'content-type': 'text/plain' });
      res.end(n === 1 ? 'busy' : 'ok');
    });
    shadow = await startUpstream('shadow');
    dp = testEngine();
    const listenerLimit$ = listenerLimit === undefined ? '' : `per_connection_buffer_limit_bytes: ${listenerLimit}\n`;
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r') + listenerLimit$],
        routes: [routeYaml(route)],
        clusters: [staticClusterYaml('up', [up.address]), staticClusterYaml('shadow', [shadow.address])],
      }),
    );
    return `http://${dp.address('l')}/`;
  }

  const post = (url: string, bytes: number) =>
    httpRequest(url, { method: 'POST', body: Buffer.alloc(bytes, 'x'), timeoutMs: 10000 });

  it('retries a body within the listener limit, replaying it whole', async () => {
    const url = await start(1024);
    const res = await post(url, 1000);
    expect(res.status).toBe(200);
    expect(up?.requests.map((r) => r.body.length)).toEqual([1000, 1000]);
    expect(dp?.stats.value('cluster.up.upstream_rq_retry')).toBe(1);
    expect(dp?.stats.value('cluster.up.retry_or_shadow_abandoned')).toBe(0);
  });

  it('forwards a body over the listener limit once, without retrying it (retry_or_shadow_abandoned)', async () => {
    const url = await start(1024);
    const res = await post(url, 4096);
    expect(res.status).toBe(503);
    expect(res.body).toBe('busy');
    expect(up?.requests.map((r) => r.body.length)).toEqual([4096]);
    expect(dp?.stats.value('cluster.up.retry_or_shadow_abandoned')).toBe(1);
    expect(dp?.stats.value('cluster.up.upstream_rq_retry')).toBe(0);
    // The limit is per request: the next small one is retried again.
    expect((await post(url, 100)).status).toBe(200);
  });

  it('0 on the listener means no limit; unset keeps Envoy 1 MiB', async () => {
    const url = await start(0);
    const res = await post(url, 2 * 1024 * 1024);
    expect(res.status).toBe(200);
    expect(up?.requests.map((r) => r.body.length)).toEqual([2 * 1024 * 1024, 2 * 1024 * 1024]);
    await stopAll();
    const url2 = await start(undefined);
    expect((await post(url2, 2 * 1024 * 1024)).status).toBe(503);
    expect(dp?.stats.value('cluster.up.retry_or_shadow_abandoned')).toBe(1);
  });

  it('applies the listener limit to HTTP/2 (h2c) streams too', async () => {
    const url = await start(1024);
    const session = http2.connect(url);
    try {
      const send = (bytes: number) =>
        new Promise<number>((resolve, reject) => {
          const st = session.request({ ':method': 'POST', ':path': '/' });
          st.on('response', (h) => resolve(Number(h[':status'])));
          st.on('error', reject);
          st.resume();
          st.end(Buffer.alloc(bytes, 'y'));
        });
      expect(await send(4096)).toBe(503);
      expect(dp?.stats.value('cluster.up.retry_or_shadow_abandoned')).toBe(1);
      expect(await send(512)).toBe(200);
      expect(up?.requests.map((r) => r.body.length)).toEqual([4096, 512]);
    } finally {
      session.close();
    }
  });

  it("a route's per_request_buffer_limit_bytes below the listener's wins for its requests", async () => {
    const url = await start(64 * 1024, { route: 'per_request_buffer_limit_bytes: 1024' });
    expect((await post(url, 4096)).status).toBe(503);
    expect(up?.requests).toHaveLength(1);
    expect(dp?.stats.value('cluster.up.retry_or_shadow_abandoned')).toBe(1);
  });

  it('the route limit replaces the virtual host limit, but never raises the listener limit', async () => {
    // vhost 1 KiB, route 8 KiB, listener unset (1 MiB): the route's 8 KiB applies, 4 KiB is retried.
    let url = await start(undefined, {
      vhost: 'per_request_buffer_limit_bytes: 1024',
      route: 'per_request_buffer_limit_bytes: 8192',
    });
    expect((await post(url, 4096)).status).toBe(200);
    expect(up?.requests).toHaveLength(2);
    await stopAll();
    // vhost 1 KiB alone applies to its routes.
    url = await start(undefined, { vhost: 'per_request_buffer_limit_bytes: 1024' });
    expect((await post(url, 4096)).status).toBe(503);
    expect(up?.requests).toHaveLength(1);
    await stopAll();
    // Listener 1 KiB, route 8 KiB: the smaller (listener) still bounds the buffer.
    url = await start(1024, { route: 'per_request_buffer_limit_bytes: 8192' });
    expect((await post(url, 4096)).status).toBe(503);
    expect(up?.requests).toHaveLength(1);
    expect(dp?.stats.value('cluster.up.retry_or_shadow_abandoned')).toBe(1);
  });

  it('a body over the limit is not mirrored either; one within it is', async () => {
    const url = await start(1024, { mirror: true });
    expect((await post(url, 4096)).status).toBe(503);
    expect(dp?.stats.value('cluster.up.retry_or_shadow_abandoned')).toBe(1);
    expect((await post(url, 512)).status).toBe(200);
    const deadline = Date.now() + 10000;
    while ((shadow?.requests.length ?? 0) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(shadow?.requests.map((r) => r.body.length)).toEqual([512]);
  });

  it('a body outgrowing the buffer while a retry waits for its backoff ends the request with 507', async () => {
    // An upstream that drops every connection it accepts (the pool sends a head with the first body bytes).
    const dropper = net.createServer((c) => c.destroy());
    await new Promise<void>((r) => dropper.listen(0, '127.0.0.1', () => r()));
    try {
      // Backoff base 10 s and random 0.99: the retry waits about 10 s, long after the body is sent.
      dp = testEngine({ random: new SequenceRandom([0.99]) });
      const addr = `127.0.0.1:${(dropper.address() as net.AddressInfo).port}`;
      await dp.apply(
        yamlSnapshot({
          listeners: [httpListenerYaml('l', 'r') + 'per_connection_buffer_limit_bytes: 1024\n'],
          routes: [
            `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route: {cluster: up, retry_policy: {retry_on: "reset,connect-failure", num_retries: 3, retry_back_off: {base_interval: 10s, max_interval: 20s}}}
`,
          ],
          clusters: [staticClusterYaml('up', [addr])],
        }),
      );
      const [host, port] = String(dp.address('l')).split(':');
      const client = net.connect(Number(port), host);
      let received = '';
      client.setEncoding('latin1');
      client.on('data', (d: string) => (received += d));
      client.write('POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 4096\r\n\r\n');
      const engine = dp;
      await waitFor(() => engine.stats.value('cluster.up.upstream_rq_retry') === 1, { what: 'a retry scheduled' });
      client.write(Buffer.alloc(4096, 'x'));
      await waitFor(() => received.includes('exceeded request buffer limit'), { what: 'the 507 reply' });
      expect(received).toMatch(/^HTTP\/1\.1 507 /);
      expect(dp.stats.value('cluster.up.retry_or_shadow_abandoned')).toBe(1);
      client.destroy();
    } finally {
      await new Promise<void>((r) => dropper.close(() => r()));
    }
  });

  it('refuses bad limits with their field path', async () => {
    dp = testEngine();
    // The proto layer already refuses what is not a uint32 in YAML/JSON...
    expect(() =>
      yamlSnapshot({ listeners: [httpListenerYaml('l', 'r') + 'per_connection_buffer_limit_bytes: -1\n'] }),
    ).toThrow(/per_connection_buffer_limit_bytes: expected an unsigned 32-bit integer/);
    // ...and the data plane checks resources handed to it already decoded.
    const [lm] = yamlSnapshot({ listeners: [httpListenerYaml('l', 'r')] }).listeners;
    lm['per_connection_buffer_limit_bytes'] = { value: -1 };
    expect(dp.validate(LISTENER_TYPE, [lm]).join('\n')).toMatch(
      /"l": per_connection_buffer_limit_bytes: must be an integer 0\.\.4294967295/,
    );
    const [cm] = yamlSnapshot({ clusters: [staticClusterYaml('up', ['127.0.0.1:1'])] }).clusters;
    cm['per_connection_buffer_limit_bytes'] = 1.5;
    expect(dp.validate(CLUSTER_TYPE, [cm]).join('\n')).toMatch(/per_connection_buffer_limit_bytes: must be an integer/);
    const [rm] = yamlSnapshot({ routes: [routeYaml()] }).routes;
    const vh = (rm['virtual_hosts'] as Record<string, unknown>[])[0];
    vh['per_request_buffer_limit_bytes'] = 4294967296;
    (vh['routes'] as Record<string, unknown>[])[0]['per_request_buffer_limit_bytes'] = { value: 'x' };
    const errs = dp.validate(ROUTE_TYPE, [rm]).join('\n');
    expect(errs).toMatch(/virtual_hosts\[0\]\.per_request_buffer_limit_bytes: must be an integer/);
    expect(errs).toMatch(/virtual_hosts\[0\]\.routes\[0\]\.per_request_buffer_limit_bytes: must be an integer/);
    // Wrapper and plain forms, and 0, are accepted.
    const [ok] = yamlSnapshot({
      routes: [
        routeYaml({ vhost: 'per_request_buffer_limit_bytes: {value: 10}', route: 'per_request_buffer_limit_bytes: 0' }),
      ],
    }).routes;
    expect(dp.validate(ROUTE_TYPE, [ok])).toEqual([]);
  });
});
