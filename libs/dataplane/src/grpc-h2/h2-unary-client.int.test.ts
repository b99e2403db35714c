// @tsmesh/core's H2UnaryClient (libs/core/src/grpc-h2/unary.ts) against a real grpc-js server: it
// lives here rather than beside the client because the certificate and port helpers of
// @tsmesh/testing cannot be a dependency of @tsmesh/core.
import * as grpc from '@grpc/grpc-js';
import { GrpcCallError, GrpcStatus, H2UnaryClient } from '@tsmesh/core';
import { freePort, makeTestCert, waitFor } from '@tsmesh/testing';

const bytes = (b: Buffer) => b;
const method = (name: string) => ({
  path: `/t.Test/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: bytes,
  requestDeserialize: bytes,
  responseSerialize: bytes,
  responseDeserialize: bytes,
});
const service = {
  Echo: method('Echo'),
  Fail: method('Fail'),
  Hang: method('Hang'),
  Auth: method('Auth'),
  Big: method('Big'),
  Peer: method('Peer'),
} as grpc.ServiceDefinition;

/**
 * A grpc-js server (the library Mixer and Citadel run) on `port`: Echo answers the request
 * reversed, Auth the `authorization` metadata it got, Big as many KiB as the request's first byte,
 * Peer the caller's address (another port: another connection).
 */
async function startServer(
  port = 0,
  creds = grpc.ServerCredentials.createInsecure(),
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb(null, Buffer.from(call.request).reverse()),
    Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb({ code: GrpcStatus.PERMISSION_DENIED, details: 'denied: 100% ünïcode' }),
    Hang: () => undefined,
    Auth: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb(null, Buffer.from(String(call.metadata.get('authorization')[0] ?? ''))),
    Big: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb(null, Buffer.alloc(call.request[0] * 1024, 7)),
    Peer: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb(null, Buffer.from(call.getPeer())),
  });
  const bound = await new Promise<number>((res, rej) =>
    server.bindAsync(`127.0.0.1:${port}`, creds, (e, p) => (e ? rej(e) : res(p))),
  );
  return { server, port: bound };
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as GrpcCallError,
  );

/** Waits until Echo of `input` answers `input` reversed (a server coming up or back). */
const echoesEventually = (client: H2UnaryClient, input: string) =>
  waitFor(
    () =>
      client.call('/t.Test/Echo', Buffer.from(input), 1000).then(
        (r) => r.toString() === [...input].reverse().join(''),
        () => false,
      ),
    { timeoutMs: 5000 },
  );

test('a unary call returns the response message; an error status comes back with its decoded message', async () => {
  const { server, port } = await startServer();
  const client = new H2UnaryClient(`127.0.0.1:${port}`);
  try {
    const payload = Buffer.from('abcdef'.repeat(1000));
    const res = await client.call('/t.Test/Echo', payload, 1000);
    expect(res.equals(Buffer.from(payload).reverse())).toBe(true);
    // an empty message is a valid one
    expect((await client.call('/t.Test/Echo', Buffer.alloc(0), 1000)).length).toBe(0);
    const err = await failure(client.call('/t.Test/Fail', Buffer.from('x'), 1000));
    expect(err).toBeInstanceOf(GrpcCallError);
    expect(err.code).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(err.details).toBe('denied: 100% ünïcode');
    // an unknown method is the server's UNIMPLEMENTED
    expect((await failure(client.call('/t.Test/Nope', Buffer.from('x'), 1000))).code).toBe(GrpcStatus.UNIMPLEMENTED);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test('a call without an answer ends with DEADLINE_EXCEEDED at its timeout; the session keeps serving', async () => {
  const { server, port } = await startServer();
  const client = new H2UnaryClient(`127.0.0.1:${port}`);
  try {
    const err = await failure(client.call('/t.Test/Hang', Buffer.from('x'), 50));
    expect(err.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect((await client.call('/t.Test/Echo', Buffer.from('ab'), 1000)).toString()).toBe('ba');
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test('nothing listening → UNAVAILABLE, then calls fail fast during the backoff; a server that comes up is reached', async () => {
  const port = await freePort();
  const client = new H2UnaryClient(`127.0.0.1:${port}`);
  try {
    expect((await failure(client.call('/t.Test/Echo', Buffer.from('x'), 1000))).code).toBe(GrpcStatus.UNAVAILABLE);
    const fast = await failure(client.call('/t.Test/Echo', Buffer.from('x'), 1000));
    expect(fast.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(fast.message).toMatch(/no connection/);
    const { server } = await startServer(port);
    try {
      await echoesEventually(client, 'ok');
    } finally {
      server.forceShutdown();
    }
  } finally {
    client.close();
  }
});

test('a server restart: calls fail with UNAVAILABLE while it is gone and succeed on a new session after', async () => {
  const first = await startServer();
  const client = new H2UnaryClient(`127.0.0.1:${first.port}`);
  try {
    expect((await client.call('/t.Test/Echo', Buffer.from('12'), 1000)).toString()).toBe('21');
    first.server.forceShutdown();
    await waitFor(
      () =>
        client.call('/t.Test/Echo', Buffer.from('x'), 1000).then(
          () => false,
          (e: GrpcCallError) => e.code === GrpcStatus.UNAVAILABLE,
        ),
      { timeoutMs: 5000 },
    );
    const second = await startServer(first.port);
    try {
      await echoesEventually(client, '34');
    } finally {
      second.server.forceShutdown();
    }
  } finally {
    client.close();
  }
});

test('metadata goes as request headers; a response over the size limit is RESOURCE_EXHAUSTED', async () => {
  const { server, port } = await startServer();
  const client = new H2UnaryClient(`127.0.0.1:${port}`, { maxResponseBytes: 100 * 1024 });
  try {
    const auth = await client.call('/t.Test/Auth', Buffer.from('x'), 1000, { authorization: 'Bearer tok-1' });
    expect(auth.toString()).toBe('Bearer tok-1');
    // 100 KiB, over many DATA frames
    expect((await client.call('/t.Test/Big', Buffer.from([100]), 1000)).length).toBe(100 * 1024);
    const err = await failure(client.call('/t.Test/Big', Buffer.from([101]), 1000));
    expect(err.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect((await client.call('/t.Test/Echo', Buffer.from('ab'), 1000)).toString()).toBe('ba');
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test('over TLS, verified with the given root; a server with another root is UNAVAILABLE', async () => {
  const cert = makeTestCert('localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
  const other = makeTestCert('localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
  const creds = grpc.ServerCredentials.createSsl(null, [
    { private_key: Buffer.from(cert.key), cert_chain: Buffer.from(cert.cert) },
  ]);
  const { server, port } = await startServer(0, creds);
  const client = new H2UnaryClient(`127.0.0.1:${port}`, { rootCertPem: cert.ca });
  const wrongRoot = new H2UnaryClient(`127.0.0.1:${port}`, { rootCertPem: other.ca });
  const plaintext = new H2UnaryClient(`127.0.0.1:${port}`);
  try {
    expect((await client.call('/t.Test/Echo', Buffer.from('tls'), 2000)).toString()).toBe('slt');
    const refused = await failure(wrongRoot.call('/t.Test/Echo', Buffer.from('x'), 2000));
    expect(refused.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(refused.details).toMatch(/certificate/);
    expect((await failure(plaintext.call('/t.Test/Echo', Buffer.from('x'), 2000))).code).toBe(GrpcStatus.UNAVAILABLE);
  } finally {
    for (const c of [client, wrongRoot, plaintext]) c.close();
    server.forceShutdown();
  }
});

test('with idleTimeoutMs the session is closed after a quiet spell and the next call dials again', async () => {
  const { server, port } = await startServer();
  const client = new H2UnaryClient(`127.0.0.1:${port}`, { idleTimeoutMs: 50 });
  const peer = async () => (await client.call('/t.Test/Peer', Buffer.alloc(0), 1000)).toString();
  try {
    const first = await peer();
    // calls in a row share the connection
    expect(await peer()).toBe(first);
    // polled 200 ms apart: each poll comes after an idle close, so a new connection answers
    await waitFor(async () => (await peer()) !== first, { intervalMs: 200, what: 'a new connection' });
  } finally {
    client.close();
    server.forceShutdown();
  }
});
