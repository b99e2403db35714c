import * as grpc from '@grpc/grpc-js';
import {
  adsServiceDefinition,
  caServiceDefinition,
  fromJson,
  mixerServiceDefinition,
  packAny,
  TypeUrl,
  typeNameOf,
  unpackAny,
  type Cluster,
  type DiscoveryRequest,
  type IstioCertificateRequest,
  type MixerCheckRequest,
  type WireAny,
} from './index';

// Real gRPC over loopback: the service definitions serve and call each other, with resources
// packed by packAny travelling in DiscoveryResponse.resources.
describe('service definitions over real gRPC', () => {
  let server: grpc.Server;
  let address: string;
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(adsServiceDefinition(), {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, unknown>) => {
        call.on('data', (req: DiscoveryRequest) => {
          if (req.response_nonce) return; // ACK
          const cluster = fromJson<Cluster>(typeNameOf(TypeUrl.CLUSTER), {
            name: 'outbound|9080||reviews.default.svc.cluster.local',
            type: 'EDS',
            eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
            connect_timeout: '1s',
          });
          call.write({
            version_info: '1',
            type_url: req.type_url,
            nonce: 'n1',
            resources: [packAny(TypeUrl.CLUSTER, cluster)],
          });
        });
        call.on('end', () => call.end());
      },
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
    });
    server.addService(mixerServiceDefinition(), {
      Check: (call: grpc.ServerUnaryCall<MixerCheckRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const words = call.request.attributes?.words ?? [];
        cb(null, {
          precondition: {
            status: { code: words.includes('deny-me') ? 7 : 0, message: '', details: [] },
            valid_duration: { seconds: 60 },
            valid_use_count: 10000,
          },
        });
      },
      Report: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
    });
    server.addService(caServiceDefinition(), {
      CreateCertificate: (
        call: grpc.ServerUnaryCall<IstioCertificateRequest, unknown>,
        cb: grpc.sendUnaryData<unknown>,
      ) => cb(null, { cert_chain: [`signed:${call.request.csr}:${call.request.validity_duration}`, 'root'] }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    address = `127.0.0.1:${port}`;
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  function client(def: grpc.ServiceDefinition, name: string): Record<string, (...args: unknown[]) => unknown> {
    const Ctor = grpc.makeGenericClientConstructor(def, name);
    const c = new Ctor(address, grpc.credentials.createInsecure());
    clients.push(c);
    return c as unknown as Record<string, (...args: unknown[]) => unknown>;
  }

  it('ADS: a DiscoveryResponse carries packed clusters the client unpacks', async () => {
    const ads = client(adsServiceDefinition(), 'ADS');
    const call = ads['StreamAggregatedResources']() as grpc.ClientDuplexStream<
      unknown,
      { resources: WireAny[]; nonce: string }
    >;
    const response = new Promise<{ resources: WireAny[]; nonce: string }>((resolve) => call.once('data', resolve));
    call.write({ node: { id: 'sidecar~10.0.0.1~a.default~default.svc.cluster.local' }, type_url: TypeUrl.CLUSTER });
    const res = await response;
    call.end();
    expect(res.nonce).toBe('n1');
    const cluster = unpackAny<Cluster>(res.resources[0]);
    expect(cluster['@type']).toBe(TypeUrl.CLUSTER);
    expect(cluster.name).toBe('outbound|9080||reviews.default.svc.cluster.local');
    expect(cluster.type).toBe('EDS');
    expect(cluster.connect_timeout).toEqual({ seconds: 1 });
  });

  it('Mixer Check and CA CreateCertificate answer unary calls', async () => {
    const mixer = client(mixerServiceDefinition(), 'Mixer');
    const check = (words: string[]) =>
      new Promise<{ precondition: { status: { code: number }; valid_use_count: number } }>((resolve, reject) =>
        mixer['Check'](
          { attributes: { words, strings: { '-1': -2 } }, global_word_count: 203 },
          (err: unknown, r: never) => (err ? reject(err) : resolve(r)),
        ),
      );
    expect((await check(['destination.service', 'ok'])).precondition.status.code).toBe(0);
    const denied = await check(['deny-me']);
    expect(denied.precondition.status.code).toBe(7);
    expect(denied.precondition.valid_use_count).toBe(10000);

    const ca = client(caServiceDefinition(), 'CA');
    const res = await new Promise<{ cert_chain: string[] }>((resolve, reject) =>
      ca['CreateCertificate']({ csr: 'CSR', validity_duration: 3600 }, (err: unknown, r: never) =>
        err ? reject(err) : resolve(r),
      ),
    );
    expect(res.cert_chain).toEqual(['signed:CSR:3600', 'root']);
  });
});
