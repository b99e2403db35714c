import http from 'node:http';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { FakeClock } from '@tsmesh/core';
import type { Dataplane } from '../engine/dataplane';
import {
  httpListenerYaml,
  startUpstream,
  staticClusterYaml,
  testEngine,
  until,
  yamlSnapshot,
  type TestUpstream,
} from '../engine/testing';
import type { StreamInfo } from './stream-info';

const identity = (b: Buffer) => b;
const SERVICE: grpc.ServiceDefinition = {
  Echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
const EchoClient = grpc.makeGenericClientConstructor(SERVICE, 'Echo');

type Unary = (
  req: Buffer,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
) => void;

function call(
  client: grpc.Client,
  body: string,
  md = new grpc.Metadata(),
  deadlineMs = 30000,
): Promise<{ err: grpc.ServiceError | null; res?: string; trailers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | undefined;
    const c = (client as unknown as { Echo: Unary }).Echo.bind(client);
    const opts: grpc.CallOptions = { deadline: Date.now() + deadlineMs };
    const callObj = c(Buffer.from(body), md, opts, (err, res) =>
      setImmediate(() => resolve({ err, res: res?.toString(), trailers })),
    );
    (callObj as unknown as grpc.ClientUnaryCall).on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
  });
}

describe('gRPC and HTTP/2 through the proxy', () => {
  let server: grpc.Server;
  let grpcPort: number;
  let held: (() => void)[] = [];
  let dp: Dataplane;
  let clock: FakeClock;
  let client: grpc.Client;
  let h1: TestUpstream;
  let infos: StreamInfo[];

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(SERVICE, {
      Echo: (callObj: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const text = callObj.request.toString();
        if (text === 'missing') return cb({ code: grpc.status.NOT_FOUND, details: 'no such book' });
        if (text === 'hold') return void held.push(() => cb(null, Buffer.from('late')));
        const md = new grpc.Metadata();
        md.set('x-trailer', 'yes');
        cb(null, Buffer.from(`echo:${text}:${callObj.metadata.get('x-envoy-attempt-count')[0] ?? ''}`), md);
      },
    });
    grpcPort = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    h1 = await startUpstream('h1');
    clock = new FakeClock();
    dp = testEngine({ clock });
    infos = [];
    dp.onStreamComplete((i) => infos.push(i));
    await dp.apply(
      yamlSnapshot({
        listeners: [
          httpListenerYaml('l', 'r', [
            `- name: envoy.filters.http.fault
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
    abort: {header_abort: {}, percentage: {numerator: 100}}`,
          ]),
        ],
        routes: [
          `
name: r
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /test.Echo/, grpc: {}}
    route: {cluster: grpc, max_grpc_timeout: 0s}
  - match: {prefix: /nowhere}
    route: {cluster: nowhere}
  - match: {prefix: /}
    route: {cluster: h1}
`,
        ],
        clusters: [
          staticClusterYaml('grpc', [`127.0.0.1:${grpcPort}`], 'http2_protocol_options: {}'),
          staticClusterYaml('h1', [h1.address]),
        ],
      }),
    );
    client = new EchoClient(dp.address('l') as string, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await dp.stop();
    await h1.close();
    server.forceShutdown();
  });

  it('proxies a unary call (HTTP/2 both sides) with trailers and x-envoy-attempt-count', async () => {
    const r = await call(client, 'hi');
    expect(r.err).toBeNull();
    expect(r.res).toBe('echo:hi:1');
    expect(r.trailers?.get('x-trailer')).toEqual(['yes']);
    expect(dp.stats.value('cluster.grpc.upstream_rq_200')).toBeGreaterThanOrEqual(1);
    await until(() => infos.some((i) => i.grpcStatus === 0));
  });

  it('passes an upstream grpc-status and message through', async () => {
    const r = await call(client, 'missing');
    expect(r.err?.code).toBe(grpc.status.NOT_FOUND);
    expect(r.err?.details).toBe('no such book');
  });

  it('maps local replies to trailers-only gRPC responses (fault abort with grpc status)', async () => {
    const md = new grpc.Metadata();
    md.set('x-envoy-fault-abort-grpc-request', '8');
    const r = await call(client, 'x', md);
    expect(r.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(r.err?.details).toBe('fault filter abort');
  });

  it('times out by grpc-timeout under max_grpc_timeout and answers UNAVAILABLE (fake clock)', async () => {
    held = [];
    const p = call(client, 'hold', new grpc.Metadata(), 60000);
    await until(() => held.length === 1);
    clock.advance(61000);
    const r = await p;
    expect(r.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.err?.details).toBe('upstream request timeout');
    held[0]();
  });

  it('serves h2c prior-knowledge clients, advertises 100 concurrent streams and proxies to an HTTP/1.1 upstream', async () => {
    const session = http2.connect(`http://${dp.address('l')}`);
    await new Promise<void>((r) => session.once('remoteSettings', () => r()));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
    const body = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const s = session.request({ ':path': '/hello', ':method': 'GET', ':authority': 'reviews:9080' });
      let status = 0;
      let text = '';
      s.on('response', (h) => (status = Number(h[':status'])));
      s.on('data', (c: Buffer) => (text += c.toString()));
      s.on('end', () => resolve({ status, body: text }));
      s.on('error', reject);
      s.end();
    });
    session.close();
    expect(body).toEqual({ status: 200, body: 'h1' });
    expect(h1.requests[h1.requests.length - 1].headers.host).toBe('reviews:9080');
    expect(dp.stats.value('http.l.downstream_rq_http2_total')).toBeGreaterThanOrEqual(1);
  });

  it('counts connections by codec as Envoy does: downstream_cx_http1/http2 on the listener, upstream_cx_http1/http2 on the cluster', async () => {
    const v = (n: string) => dp.stats.value(n) ?? 0;
    // The gRPC client's connection of the tests above stays open (an active HTTP/2 connection); the
    // h2c session the test before this one closed may still be going away.
    await until(() => v('http.l.downstream_cx_http1_active') === 0 && v('http.l.downstream_cx_http2_active') <= 1);
    const before = {
      h1: v('http.l.downstream_cx_http1_total'),
      h2: v('http.l.downstream_cx_http2_total'),
      h1Active: v('http.l.downstream_cx_http1_active'),
      h2Active: v('http.l.downstream_cx_http2_active'),
      active: v('http.l.downstream_cx_active'),
    };
    // One HTTP/1.1 connection, closed after its request.
    const got = await new Promise<number>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port: Number((dp.address('l') as string).split(':').pop()), path: '/codec', agent: false },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
    });
    expect(got).toBe(200);
    // One h2c session.
    const session = http2.connect(`http://${dp.address('l')}`);
    await new Promise<void>((resolve, reject) => {
      const s = session.request({ ':path': '/codec', ':method': 'GET', ':authority': 'reviews:9080' });
      s.resume();
      s.on('end', () => resolve());
      s.on('error', reject);
      s.end();
    });
    expect(v('http.l.downstream_cx_http2_active')).toBe(before.h2Active + 1);
    session.close();
    expect(v('http.l.downstream_cx_http1_total')).toBe(before.h1 + 1);
    expect(v('http.l.downstream_cx_http2_total')).toBe(before.h2 + 1);
    await until(
      () =>
        v('http.l.downstream_cx_http1_active') === before.h1Active &&
        v('http.l.downstream_cx_http2_active') === before.h2Active,
    );
    expect(v('http.l.downstream_cx_active')).toBe(before.active);
    expect(v('http.l.downstream_cx_ssl_total')).toBe(0);
    // Upstream: the gRPC cluster is HTTP/2, the h1 cluster HTTP/1.1; each opened at least one connection.
    expect(v('cluster.grpc.upstream_cx_http2_total')).toBeGreaterThanOrEqual(1);
    expect(v('cluster.grpc.upstream_cx_http1_total')).toBe(0);
    expect(v('cluster.h1.upstream_cx_http1_total')).toBeGreaterThanOrEqual(1);
    expect(v('cluster.h1.upstream_cx_http2_total')).toBe(0);
    expect(v('cluster.h1.upstream_cx_http1_total')).toBe(v('cluster.h1.upstream_cx_total'));
  });
});

describe('HTTP/2 → HTTP/1 translation hardening', () => {
  it('rejects a :method that is not a token and a bad :authority before anything is re-encoded upstream', async () => {
    const h1 = await startUpstream('h1');
    const dp = testEngine();
    await dp.apply(
      yamlSnapshot({
        listeners: [httpListenerYaml('l', 'r')],
        routes: [
          `name: r\nvirtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: h1}}]}]`,
        ],
        clusters: [staticClusterYaml('h1', [h1.address])],
      }),
    );
    const session = http2.connect(`http://${dp.address('l')}`);
    session.on('error', () => undefined);
    const status = (headers: http2.OutgoingHttpHeaders) =>
      new Promise<number>((resolve) => {
        try {
          const st = session.request(headers);
          st.on('response', (h) => resolve(Number(h[':status'])));
          st.on('error', () => resolve(-1));
          st.on('close', () => resolve(-1));
          st.end();
        } catch {
          resolve(-1);
        }
      });
    const bad = await status({ ':method': 'GET /admin HTTP/1.1\r\nx: y', ':path': '/', ':authority': 'a' });
    expect(bad === 400 || bad === -1).toBe(true);
    const badAuthority = await status({ ':method': 'GET', ':path': '/', ':authority': 'a b' });
    expect(badAuthority === 400 || badAuthority === -1).toBe(true);
    expect(h1.requests).toHaveLength(0);
    session.close();
    await dp.stop();
    await h1.close();
  });
});
