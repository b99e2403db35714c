/**
 * CaClient against a grpc-js server (the library Citadel serves with): the bearer token as
 * `authorization` metadata, the chain back, refusals as (code, details), the deadline, a
 * response that does not decode. Citadel's own tests (apps/citadel) drive it against the real CA,
 * TLS included.
 */
import * as grpc from '@grpc/grpc-js';
import { GrpcCallError, GrpcStatus } from '@tsmesh/core';
import { CaClient } from './ca-client';
import { caServiceDefinition, CA_SERVICE_PATH, type CertificateRequest, type CertificateResponse } from './ca-wire';

type Handler = (
  call: grpc.ServerUnaryCall<CertificateRequest, CertificateResponse>,
  cb: grpc.sendUnaryData<CertificateResponse>,
) => void;

async function serve(def: grpc.ServiceDefinition, handler: Handler): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server();
  server.addService(def, { CreateCertificate: handler });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

const CA = caServiceDefinition() as unknown as grpc.ServiceDefinition;
const open: Array<{ server: grpc.Server; client: CaClient }> = [];
afterEach(() => {
  for (const { server, client } of open.splice(0)) {
    client.close();
    server.forceShutdown();
  }
});

async function setup(handler: Handler, o: Partial<ConstructorParameters<typeof CaClient>[0]> = {}, def = CA) {
  const { server, address } = await serve(def, handler);
  const client = new CaClient({ address, token: 'tok', ...o });
  open.push({ server, client });
  return client;
}

test('sends the CSR and validity with the bearer token (read per call) and returns the chain', async () => {
  const seen: Array<{ auth: unknown; req: CertificateRequest }> = [];
  let token = 'first';
  const client = await setup(
    (call, cb) => {
      seen.push({ auth: call.metadata.get('authorization')[0], req: call.request });
      cb(null, { certChain: ['leaf', 'root'] });
    },
    { token: () => token },
  );
  expect(await client.createCertificate('csr-pem', 3600)).toEqual(['leaf', 'root']);
  token = 'second';
  expect(await client.createCertificate('csr-2')).toEqual(['leaf', 'root']);
  expect(seen).toEqual([
    { auth: 'Bearer first', req: { csr: 'csr-pem', validityDuration: 3600 } },
    { auth: 'Bearer second', req: { csr: 'csr-2', validityDuration: 0 } },
  ]);
});

test('a refusal rejects with its code and details, as a grpc-js ServiceError had them', async () => {
  const client = await setup((_call, cb) => cb({ code: GrpcStatus.PERMISSION_DENIED, details: 'not yours: ü' }));
  const err = await client.createCertificate('csr').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GrpcCallError);
  expect(err).toMatchObject({ code: GrpcStatus.PERMISSION_DENIED, details: 'not yours: ü' });
});

test('no answer within timeoutMs: DEADLINE_EXCEEDED', async () => {
  const client = await setup(() => undefined, { timeoutMs: 100 });
  await expect(client.createCertificate('csr')).rejects.toMatchObject({ code: GrpcStatus.DEADLINE_EXCEEDED });
});

test('a response that does not decode: INTERNAL', async () => {
  const raw = {
    CreateCertificate: {
      ...(CA as Record<string, grpc.MethodDefinition<unknown, unknown>>)['CreateCertificate'],
      path: CA_SERVICE_PATH,
      responseSerialize: () => Buffer.from([0xff]),
    },
  } as grpc.ServiceDefinition;
  const client = await setup((_call, cb) => cb(null, { certChain: [] }), {}, raw);
  await expect(client.createCertificate('csr')).rejects.toMatchObject({
    code: GrpcStatus.INTERNAL,
    details: expect.stringMatching(/^malformed CreateCertificate response/),
  });
});

test('a token file that cannot be read rejects the call instead of throwing', async () => {
  const client = await setup((_call, cb) => cb(null, { certChain: ['x'] }), {
    token: () => {
      throw new Error('ENOENT: token file');
    },
  });
  await expect(client.createCertificate('csr')).rejects.toThrow('ENOENT: token file');
});
