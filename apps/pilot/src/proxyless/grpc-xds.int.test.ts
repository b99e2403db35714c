/**
 * Interop with the real @grpc/grpc-js-xds client (proxyless gRPC): it bootstraps
 * against this Pilot, resolves `xds:///echo.default.svc.cluster.local:7070` via
 * LDS → RDS → CDS → EDS and calls real gRPC servers on loopback. Dedicated file
 * because grpc-js-xds registers its resolver globally.
 */
import * as grpc from '@grpc/grpc-js';
import { tempDir, waitFor } from '@tsmesh/testing';
import { startPilot, type RunningPilot } from '../pilot';
import { applyFile } from '../registry/apply';

const TARGET = 'xds:///echo.default.svc.cluster.local:7070';
const ident = (b: Buffer) => b;
const ECHO = {
  Echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: ident,
    requestDeserialize: ident,
    responseSerialize: ident,
    responseDeserialize: ident,
  },
} as const;

interface Backend {
  server: grpc.Server;
  port: number;
  calls: number;
}

async function backend(name: string, failEvery = 0): Promise<Backend> {
  const server = new grpc.Server();
  const b: Backend = { server, port: 0, calls: 0 };
  server.addService(ECHO as unknown as grpc.ServiceDefinition, {
    Echo: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => {
      b.calls++;
      if (failEvery > 0 && b.calls % failEvery === 1) return cb({ code: grpc.status.UNAVAILABLE, details: 'flaky' });
      cb(null, Buffer.from(name));
    },
  });
  b.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return b;
}

function serviceEntry(v1: number, v2: number, v3: number): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 7070, name: grpc, protocol: GRPC}]
  endpoints:
  - {address: 127.0.0.1, ports: {grpc: ${v1}}, labels: {version: v1}}
  - {address: 127.0.0.1, ports: {grpc: ${v2}}, labels: {version: v2}}
  - {address: 127.0.0.1, ports: {grpc: ${v3}}, labels: {version: v3}}
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: echo, namespace: default}
spec:
  host: echo
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: flaky, labels: {version: v3}}
`;
}

const vs = (http: string) => `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
${http}`;

describe('@grpc/grpc-js-xds against Pilot', () => {
  let pilot: RunningPilot;
  let backends: Backend[];
  let client: grpc.Client;
  let dir: { path: string; cleanup(): void };

  function call(metadata: Record<string, string> = {}): Promise<string> {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    return new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        ECHO.Echo.path,
        ident,
        ident,
        Buffer.from('hi'),
        md,
        { deadline: Date.now() + 5000 },
        (e, r) => (e ? reject(e) : resolve(String(r))),
      ),
    );
  }

  function setRoutes(http: string): void {
    applyFile(pilot.store, 'vs.yaml', vs(http));
  }

  beforeAll(async () => {
    dir = tempDir('pilot-grpc-');
    backends = [await backend('v1'), await backend('v2'), await backend('flaky', 2)];
    pilot = await startPilot({
      configDir: dir.path,
      grpcAddr: '127.0.0.1:0',
      httpAddr: '127.0.0.1:0',
      debounceAfterMs: 10,
      debounceMaxMs: 500,
      pollMs: 0,
    });
    applyFile(pilot.store, 'echo.yaml', serviceEntry(backends[0].port, backends[1].port, backends[2].port));
    setRoutes(`  - route: [{destination: {host: echo, subset: v1}}]\n`);
    process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify({
      xds_servers: [
        { server_uri: pilot.grpcAddress, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
      ],
      node: {
        id: 'sidecar~127.0.0.1~client.default~default.svc.cluster.local',
        locality: {},
        metadata: { GENERATOR: 'grpc', NAMESPACE: 'default', INSTANCE_IPS: '127.0.0.1' },
      },
    });
    require('@grpc/grpc-js-xds').register();
    client = new grpc.Client(TARGET, grpc.credentials.createInsecure());
    await waitFor(() => call().then((r) => r === 'v1'), { timeoutMs: 20_000, what: 'first call through xDS' });
  });

  afterAll(async () => {
    client?.close();
    await pilot?.stop();
    for (const b of backends ?? []) b.server.forceShutdown();
    dir?.cleanup();
    delete process.env['GRPC_XDS_BOOTSTRAP_CONFIG'];
  });

  it('routes by header match', async () => {
    setRoutes(`  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: echo, subset: v2}}]
  - route: [{destination: {host: echo, subset: v1}}]
`);
    await waitFor(() => call({ 'end-user': 'jason' }).then((r) => r === 'v2'), { what: 'header route applied' });
    for (let i = 0; i < 10; i++) {
      expect(await call({ 'end-user': 'jason' })).toBe('v2');
      expect(await call()).toBe('v1');
    }
  });

  it('splits traffic by weight between subsets', async () => {
    setRoutes(`  - route:
    - {destination: {host: echo, subset: v1}, weight: 50}
    - {destination: {host: echo, subset: v2}, weight: 50}
`);
    const seen = { v1: 0, v2: 0 };
    await waitFor(
      async () => {
        const r = (await call()) as 'v1' | 'v2';
        seen[r]++;
        return seen.v1 > 3 && seen.v2 > 3;
      },
      { what: 'both subsets receive calls' },
    );
    expect(seen.v1 + seen.v2).toBeGreaterThan(7);
  });

  it('retries UNAVAILABLE per the VirtualService retry policy', async () => {
    setRoutes(`  - route: [{destination: {host: echo, subset: flaky}}]
    retries: {attempts: 3, retryOn: unavailable}
`);
    await waitFor(() => call().then((r) => r === 'flaky'), { what: 'flaky route applied' });
    const before = backends[2].calls;
    for (let i = 0; i < 10; i++) expect(await call()).toBe('flaky');
    // every other backend call fails, so 10 successes need more than 10 attempts
    expect(backends[2].calls - before).toBeGreaterThan(10);
  });

  it('moves traffic on an update without a failed call', async () => {
    setRoutes(`  - route: [{destination: {host: echo, subset: v1}}]\n`);
    await waitFor(() => call().then((r) => r === 'v1'), { what: 'back on v1' });
    const results: string[] = [];
    const failures: unknown[] = [];
    let stop = false;
    const loop = (async () => {
      while (!stop)
        await call().then(
          (r) => results.push(r),
          (e) => failures.push(e),
        );
    })();
    await waitFor(() => results.length > 5);
    setRoutes(`  - route: [{destination: {host: echo, subset: v2}}]\n`);
    await waitFor(() => results.slice(-5).length === 5 && results.slice(-5).every((r) => r === 'v2'), {
      what: 'traffic on v2',
    });
    stop = true;
    await loop;
    expect(failures).toEqual([]);
    expect(results).toContain('v1');
  });
});
