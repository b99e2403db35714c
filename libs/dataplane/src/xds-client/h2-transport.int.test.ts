/**
 * The ADS transport over node:http2 against a real grpc-js server (the library Pilot serves ADS
 * with): large pushes, several responses in a row, the server's error status, refused and
 * undecodable messages, a connection that stops answering PINGs, cancellation.
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { GrpcStatus } from '@tsmesh/core';
import { adsServiceDefinition, packAny, TypeUrl } from '@tsmesh/protocol';
import { freePort, waitFor, type WireRequest } from '@tsmesh/testing';
import { H2AdsTransport, type H2AdsTransportOptions } from './h2-transport';
import type { AdsStream, DiscoveryRequest, DiscoveryResponse } from './types';

type Call = grpc.ServerDuplexStream<WireRequest, unknown>;

/** A grpc-js server with the ADS service; each stream is handed to `onStream`. */
async function adsServer(onStream: (call: Call) => void, port = 0): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(adsServiceDefinition(), {
    StreamAggregatedResources: (call: Call) => {
      call.on('error', () => undefined);
      onStream(call);
    },
    DeltaAggregatedResources: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { server, port: bound };
}

/** One stream opened on `transport`, recording what it receives and how it ends. */
function openStream(transport: H2AdsTransport) {
  const responses: DiscoveryResponse[] = [];
  let reason: string | undefined;
  const stream: AdsStream = transport.open({
    onResponse: (r) => responses.push(r),
    onClose: (r) => {
      if (reason !== undefined) throw new Error(`onClose twice: ${reason} / ${r}`);
      reason = r;
    },
  });
  return { stream, responses, closed: () => reason };
}

const request = (over: Partial<DiscoveryRequest> = {}): DiscoveryRequest => ({
  version_info: '',
  resource_names: [],
  type_url: TypeUrl.CLUSTER,
  response_nonce: '',
  ...over,
});

/** A STATIC cluster whose name makes it about `bytes` long on the wire. */
const cluster = (i: number, bytes = 0) => ({
  name: `outbound|9080||svc-${i}.default.svc.cluster.local${'x'.repeat(Math.max(0, bytes - 60))}`,
  type: 'STATIC',
});

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function track(server: grpc.Server, transport: H2AdsTransport): void {
  cleanup.push(() => {
    transport.close();
    server.forceShutdown();
  });
}

/** A server, a transport to it, and a stream whose first request has reached the server (`call`). */
async function connected(options: Partial<H2AdsTransportOptions> = {}) {
  let call: Call | undefined;
  const { server, port } = await adsServer((c) => (call = c));
  const transport = new H2AdsTransport({ address: `127.0.0.1:${port}`, ...options });
  track(server, transport);
  const opened = openStream(transport);
  opened.stream.send(request());
  return { ...opened, call: await waitFor(() => call, { what: 'stream at the server' }) };
}

test('requests reach the server in proto form (node metadata as a Struct, a NACK with error_detail)', async () => {
  const got: WireRequest[] = [];
  const { server, port } = await adsServer((call) => call.on('data', (r: WireRequest) => got.push(r)));
  const transport = new H2AdsTransport({ address: `127.0.0.1:${port}` });
  track(server, transport);
  const { stream } = openStream(transport);
  stream.send(
    request({
      node: {
        id: 'sidecar~10.0.0.1~a.default~default.svc.cluster.local',
        cluster: 'a',
        metadata: { NAMESPACE: 'default', LABELS: { app: 'a', version: 'v1' }, PORTS: [9080, 15090], ON: true },
      },
    }),
  );
  stream.send(request({ version_info: 'v1', response_nonce: 'n1', error_detail: { code: 3, message: 'bad cluster' } }));
  await waitFor(() => got.length === 2, { what: 'two requests' });
  expect(got[0].node?.id).toBe('sidecar~10.0.0.1~a.default~default.svc.cluster.local');
  const md = got[0].node?.metadata?.fields ?? {};
  expect(md['NAMESPACE']).toMatchObject({ stringValue: 'default' });
  expect(md['LABELS']).toMatchObject({ structValue: { fields: { app: { stringValue: 'a' } } } });
  expect(md['PORTS']).toMatchObject({ listValue: { values: [{ numberValue: 9080 }, { numberValue: 15090 }] } });
  expect(md['ON']).toMatchObject({ boolValue: true });
  expect(got[1]).toMatchObject({
    version_info: 'v1',
    response_nonce: 'n1',
    type_url: TypeUrl.CLUSTER,
    error_detail: { code: 3, message: 'bad cluster' },
  });
  expect(got[1].node ?? null).toBeNull();
});

test('pushes of 70 KiB and 3 MiB and a burst of small ones arrive whole and in order', async () => {
  const { responses, call: c } = await connected();
  const push = (nonce: string, resources: object[]) =>
    c.write({
      version_info: nonce,
      type_url: TypeUrl.CLUSTER,
      nonce,
      resources: resources.map((r) => packAny(TypeUrl.CLUSTER, r)),
    });
  const medium = Array.from({ length: 70 }, (_, i) => cluster(i, 1024));
  const large = Array.from({ length: 3 * 1024 }, (_, i) => cluster(i, 1024));
  push('medium', medium);
  push('large', large);
  // many small messages written back to back: several share a DATA frame
  for (let i = 0; i < 50; i++) push(`small-${i}`, [cluster(i)]);
  await waitFor(() => responses.length === 52, { what: '52 responses', timeoutMs: 20_000 });
  expect(responses.map((r) => r.nonce)).toEqual([
    'medium',
    'large',
    ...Array.from({ length: 50 }, (_, i) => `small-${i}`),
  ]);
  expect(responses[0].resources.map((r) => r['name'])).toEqual(medium.map((r) => r.name));
  expect(responses[1].resources).toHaveLength(large.length);
  expect(responses[1].resources[large.length - 1]).toMatchObject({
    '@type': TypeUrl.CLUSTER,
    name: large[large.length - 1].name,
  });
  expect(responses[51].resources[0]).toMatchObject({ name: cluster(49).name });
  for (const r of responses) expect(r.decodeErrors).toBeUndefined();
});

test('a resource that does not decode is listed in decodeErrors; the others are kept', async () => {
  const { responses, call: c } = await connected();
  c.write({
    version_info: 'v1',
    type_url: TypeUrl.CLUSTER,
    nonce: 'n1',
    resources: [
      packAny(TypeUrl.CLUSTER, cluster(1)),
      { type_url: TypeUrl.CLUSTER, value: Buffer.from([0xff, 0xff, 0xff]) },
    ],
  });
  const [res] = await waitFor(() => (responses.length ? responses : undefined), { what: 'response' });
  expect(res.resources).toHaveLength(1);
  expect(res.decodeErrors).toEqual([
    expect.stringMatching(
      /^resources\[1\]: cannot decode type\.googleapis\.com\/envoy\.config\.cluster\.v3\.Cluster: /,
    ),
  ]);
});

test("the server's error status ends the stream with its name and percent-decoded message", async () => {
  const { closed, call: c } = await connected();
  c.emit('error', { code: GrpcStatus.UNAVAILABLE, details: 'going away: 100% ünïcode' });
  expect(await waitFor(closed, { what: 'close' })).toBe('UNAVAILABLE: going away: 100% ünïcode');
});

test('a server ending the stream with OK: "stream ended by server"', async () => {
  const { server, port } = await adsServer((c) => c.end());
  const transport = new H2AdsTransport({ address: `127.0.0.1:${port}` });
  track(server, transport);
  const { closed } = openStream(transport);
  expect(await waitFor(closed, { what: 'close' })).toBe('stream ended by server');
});

test('a server without the ADS service: UNIMPLEMENTED', async () => {
  const server = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const transport = new H2AdsTransport({ address: `127.0.0.1:${port}` });
  track(server, transport);
  const { stream, closed } = openStream(transport);
  stream.send(request());
  expect(await waitFor(closed, { what: 'close' })).toMatch(/^UNIMPLEMENTED: /);
});

test('nothing listening: UNAVAILABLE naming the address; a later open reaches a server that came up', async () => {
  const port = await freePort();
  const transport = new H2AdsTransport({ address: `127.0.0.1:${port}` });
  const first = openStream(transport);
  expect(await waitFor(first.closed, { what: 'close' })).toMatch(
    new RegExp(`^UNAVAILABLE: 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
  );
  let call: Call | undefined;
  const { server } = await adsServer((c) => (call = c), port);
  track(server, transport);
  const second = openStream(transport);
  second.stream.send(request());
  await waitFor(() => call, { what: 'stream on the new server' });
  expect(second.closed()).toBeUndefined();
});

test('a response over the size limit is refused with RESOURCE_EXHAUSTED and the stream cancelled', async () => {
  const { responses, closed, call: c } = await connected({ maxMessageBytes: 10_000 });
  let cancelled = false;
  c.on('cancelled', () => (cancelled = true));
  const resources = (n: number) => Array.from({ length: n }, (_, i) => packAny(TypeUrl.CLUSTER, cluster(i, 1000)));
  c.write({ version_info: 'a', type_url: TypeUrl.CLUSTER, nonce: 'a', resources: resources(5) });
  c.write({ version_info: 'b', type_url: TypeUrl.CLUSTER, nonce: 'b', resources: resources(20) });
  expect(await waitFor(closed, { what: 'close' })).toMatch(
    /^RESOURCE_EXHAUSTED: received a message of \d+ bytes, larger than the maximum of 10000$/,
  );
  expect(responses.map((r) => r.nonce)).toEqual(['a']);
  await waitFor(() => cancelled, { what: 'server sees the cancel' });
});

test('close() cancels the stream: the server sees it, onClose says CANCELLED', async () => {
  const { stream, closed, call } = await connected();
  let cancelled = false;
  call.on('cancelled', () => (cancelled = true));
  stream.close();
  expect(await waitFor(closed, { what: 'close' })).toBe('CANCELLED: stream cancelled by the client');
  await waitFor(() => cancelled, { what: 'server sees the cancel' });
});

/** A TCP relay to `port` whose connections can be frozen: nothing passes either way any more. */
async function relay(port: number): Promise<{ port: number; freeze(): void; close(): void }> {
  const sockets: net.Socket[] = [];
  const frozen = new Set<net.Socket>();
  const srv = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    sockets.push(down, up);
    down.on('data', (d) => frozen.has(down) || up.write(d));
    up.on('data', (d) => frozen.has(down) || down.write(d));
    for (const [a, b] of [
      [down, up],
      [up, down],
    ]) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    freeze: () => sockets.filter((s, i) => i % 2 === 0).forEach((s) => frozen.add(s)),
    close: () => {
      srv.close();
      for (const s of sockets) s.destroy();
    },
  };
}

test('a connection that stops acknowledging PINGs is closed; the next open uses a new connection', async () => {
  let streams = 0;
  const { server, port } = await adsServer(() => streams++);
  const r = await relay(port);
  const transport = new H2AdsTransport({ address: `127.0.0.1:${r.port}`, keepaliveMs: 100, keepaliveTimeoutMs: 1000 });
  track(server, transport);
  cleanup.push(() => r.close());
  const first = openStream(transport);
  first.stream.send(request());
  await waitFor(() => streams === 1, { what: 'first stream' });
  r.freeze();
  expect(await waitFor(first.closed, { what: 'close', timeoutMs: 5000 })).toMatch(
    /^UNAVAILABLE: .*keepalive PING not acknowledged within 1000 ms/,
  );
  const second = openStream(transport);
  second.stream.send(request());
  await waitFor(() => streams === 2, { what: 'second stream' });
  expect(second.closed()).toBeUndefined();
});
