import { writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import { metricValue } from '@tsmesh/core';
import { cdsServiceDefinition, lookupType, packAny } from '@tsmesh/protocol';
import { tempDir, waitFor, type TempDir } from '@tsmesh/testing';
import { generate } from '../configgen/generator';
import { TYPE, type Msg } from '../configgen/names';
import { parseNode } from '../model/proxy';
import { startPilot, type RunningPilot } from '../pilot';
import { AdsClient } from '../testing/ads-client';
import { BOOKINFO_YAML, REVIEWS_DR } from '../testing/bookinfo';
import { syncz } from '../debug/debug-server';

const NODE = 'sidecar~10.1.0.10~productpage-v1-abc.default~default.svc.cluster.local';

const REVIEWS_V2 = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: v2}}]}]
`;

interface RawResponse {
  bytes: Buffer;
  version_info: string;
  nonce: string;
  type_url: string;
  resources: { type_url: string; value: Buffer }[];
}

/** An ADS stream that keeps each DiscoveryResponse's bytes as they came off the wire. */
class RawAds {
  readonly received: RawResponse[] = [];
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private first = true;
  private static readonly req = lookupType('envoy.service.discovery.v3.DiscoveryRequest');
  private static readonly res = lookupType('envoy.service.discovery.v3.DiscoveryResponse');

  constructor(
    address: string,
    readonly nodeId: string,
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    });
    const ident = (b: Buffer) => b;
    this.call = this.client.makeBidiStreamRequest(
      '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
      ident,
      ident,
    );
    this.call.on('error', () => undefined);
    this.call.on('data', (bytes: Buffer) => {
      const m = RawAds.res.decode(bytes) as unknown as Omit<RawResponse, 'bytes'>;
      this.received.push({ bytes, ...m, resources: m.resources.map((r) => ({ ...r, value: Buffer.from(r.value) })) });
    });
  }

  send(typeUrl: string, names: string[], ack?: RawResponse): void {
    const req: Record<string, unknown> = {
      type_url: typeUrl,
      resource_names: names,
      version_info: ack?.version_info ?? '',
      response_nonce: ack?.nonce ?? '',
    };
    if (this.first) req['node'] = { id: this.nodeId };
    this.first = false;
    this.call.write(Buffer.from(RawAds.req.encode(RawAds.req.fromObject(req)).finish()));
  }

  last(typeUrl: string): RawResponse | undefined {
    return this.received.filter((r) => r.type_url === typeUrl).at(-1);
  }

  lastOf(typeUrl: string): RawResponse {
    const r = this.last(typeUrl);
    if (!r) throw new Error(`no ${typeUrl} response`);
    return r;
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

describe('xDS server over real gRPC with the folder registry', () => {
  let dir: TempDir;
  let pilot: RunningPilot;
  const clients: AdsClient[] = [];
  const client = (nodeId = NODE) => {
    const c = new AdsClient({ address: pilot.grpcAddress, nodeId });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    dir = tempDir('pilot-xds-');
    writeFileSync(join(dir.path, 'bookinfo.yaml'), BOOKINFO_YAML);
    writeFileSync(join(dir.path, 'dr.yaml'), REVIEWS_DR);
    pilot = await startPilot({
      configDir: dir.path,
      grpcAddr: '127.0.0.1:0',
      httpAddr: '127.0.0.1:0',
      debounceAfterMs: 10,
      debounceMaxMs: 1000,
      pollMs: 50,
    });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await pilot.stop();
    dir.cleanup();
  });

  async function syncAll(c: AdsClient) {
    const cds = await c.subscribe(TYPE.cluster);
    const eds = c.next(TYPE.endpoint);
    const edsNames = cds.resources.filter((r) => r['type'] === 'EDS').map((r) => String(r['name']));
    c.ack(cds);
    c.send(TYPE.endpoint, edsNames);
    const edsR = await eds;
    c.ack(edsR, edsNames);
    const lds = await c.subscribe(TYPE.listener);
    c.ack(lds);
    const rds = await c.subscribe(TYPE.route, ['9080']);
    c.ack(rds, ['9080']);
    return { cds, eds: edsR, lds, rds, edsNames };
  }

  it('serves CDS, EDS, LDS and RDS and records ACKs per type', async () => {
    const c = client();
    const { cds, eds, lds, rds } = await syncAll(c);
    expect(cds.resources.map((r) => r['name'])).toContain('outbound|9080|v2|reviews.default.svc.cluster.local');
    expect(eds.resources.length).toBeGreaterThan(0);
    expect(lds.resources.map((r) => r['name'])).toContain('0.0.0.0_9080');
    expect(rds.resources.map((r) => r['name'])).toEqual(['9080']);
    await waitFor(() => {
      const row = syncz(pilot.xds)[0] as { types: Record<string, { synced: boolean }> };
      return ['cds', 'eds', 'lds', 'rds'].every((t) => row.types[t]?.synced);
    });
    expect(await metricValue(pilot.metrics.registry, 'pilot_xds')).toBe(1);
  });

  it('records a NACK, keeps the last acked version and does not re-send the same version', async () => {
    const c = client();
    const { rds } = await syncAll(c);
    writeFileSync(
      join(dir.path, 'vs.yaml'),
      `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: v2}}]}]
`,
    );
    const pushed = await waitFor(() => c.received.find((r) => r.type_url === TYPE.route && r.nonce !== rds.nonce));
    c.nack(pushed, rds.version_info, 'route rejected by test', ['9080']);
    await waitFor(
      async () => (await metricValue(pilot.metrics.registry, 'pilot_total_xds_rejects', { type: 'rds' })) === 1,
    );
    const row = syncz(pilot.xds)[0] as {
      types: Record<string, { acked_version: string; last_nack: { error: string } }>;
    };
    expect(row.types['rds'].acked_version).toBe(rds.version_info);
    expect(row.types['rds'].last_nack.error).toBe('route rejected by test');
    const before = c.received.length;
    pilot.discovery.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect(c.received.filter((r) => r.type_url === TYPE.route).length).toBe(
      c.received.slice(0, before).filter((r) => r.type_url === TYPE.route).length,
    );
  });

  it('pushes only EDS when only endpoints change, and full config for a file edit', async () => {
    const c = client();
    await syncAll(c);
    const start = c.received.length;
    writeFileSync(
      join(dir.path, 'pod.yaml'),
      `apiVersion: v1
kind: Pod
metadata: {name: reviews-v2-new, namespace: default, labels: {app: reviews, version: v2}}
spec: {containers: [{name: r}]}
status: {phase: Running, podIP: 10.1.0.99}
`,
    );
    const eds = await waitFor(() => c.received.slice(start).find((r) => r.type_url === TYPE.endpoint));
    const v2 = eds.resources.find((r) => r['cluster_name'] === 'outbound|9080|v2|reviews.default.svc.cluster.local');
    expect(JSON.stringify(v2)).toContain('10.1.0.99');
    expect(c.received.slice(start).every((r) => r.type_url === TYPE.endpoint)).toBe(true);
    unlinkSync(join(dir.path, 'pod.yaml'));
    await waitFor(() => c.received.slice(start).filter((r) => r.type_url === TYPE.endpoint).length >= 2);
  });

  it('re-sends only the route configurations whose content changed (RDS need not be complete)', async () => {
    writeFileSync(
      join(dir.path, 'web.yaml'),
      `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: 10.96.0.50, ports: [{name: http, port: 8080}]}
`,
    );
    const c = client();
    await waitFor(async () => {
      const r = await c.subscribe(TYPE.route, ['8080', '9080']);
      return r.resources.length === 2 ? r : undefined;
    });
    const first = c.last.get(TYPE.route) as (typeof c.received)[number];
    expect(first.resources.map((r) => r['name'])).toEqual(['8080', '9080']);
    c.ack(first, ['8080', '9080']);
    // let the push for web.yaml (if it comes after the first answer) go by
    let seen = -1;
    await waitFor(async () => {
      const quiet = c.received.length === seen;
      seen = c.received.length;
      if (!quiet) await new Promise((r) => setTimeout(r, 300));
      return quiet;
    });
    for (const r of c.received) if (r.type_url === TYPE.route) c.ack(r, ['8080', '9080']);
    const start = c.received.length;
    writeFileSync(join(dir.path, 'vs.yaml'), REVIEWS_V2);
    const pushed = await waitFor(() => c.received.slice(start).find((r) => r.type_url === TYPE.route));
    expect(pushed.resources.map((r) => r['name'])).toEqual(['9080']);
    c.ack(pushed, ['8080', '9080']);
    // a new subscription gets the complete set again
    c.send(TYPE.route, ['8080', '9080', 'http_proxy'], { version: pushed.version_info, nonce: pushed.nonce });
    const full = await c.next(TYPE.route);
    expect(full.resources.map((r) => r['name'])).toEqual(['8080', '9080', 'http_proxy']);
  });

  it('pushes to more proxies than one slice; each gets, byte for byte, what generation for that proxy encodes to', async () => {
    const n = 25;
    const raws = Array.from(
      { length: n },
      (_, i) => new RawAds(pilot.grpcAddress, `sidecar~10.2.0.${i + 1}~p${i}.default~default.svc.cluster.local`),
    );
    try {
      for (const r of raws) {
        r.send(TYPE.cluster, []);
        r.send(TYPE.route, ['9080']);
      }
      await waitFor(() => raws.every((r) => r.last(TYPE.cluster) && r.last(TYPE.route)), { what: 'initial sync' });
      for (const r of raws) {
        r.send(TYPE.cluster, [], r.last(TYPE.cluster));
        r.send(TYPE.route, ['9080'], r.last(TYPE.route));
      }
      const before = raws.map((r) => r.lastOf(TYPE.route).nonce);
      writeFileSync(join(dir.path, 'vs.yaml'), REVIEWS_V2);
      await waitFor(() => raws.every((r, i) => r.lastOf(TYPE.route).nonce !== before[i]), { what: 'route push' });
      const ctx = pilot.discovery.context();
      for (const r of raws) {
        const proxy = parseNode({ id: r.nodeId });
        for (const [type, names] of [
          [TYPE.route, ['9080']],
          [TYPE.cluster, []],
        ] as const) {
          const res = r.lastOf(type);
          const want = (generate(type, proxy, ctx, names) as Msg[]).map((m) => packAny(type, m).value);
          if (type === TYPE.route) expect(res.resources.map((x) => x.value)).toEqual(want);
          else expect(res.resources.length).toBeGreaterThan(0);
        }
        r.send(TYPE.route, ['9080'], r.last(TYPE.route));
      }
      // the response a proxy received decodes to a whole DiscoveryResponse with its own type and the control plane
      const one = RawAds['res'].decode(raws[n - 1].lastOf(TYPE.route).bytes).toJSON();
      expect(one['controlPlane'] ?? one['control_plane']).toEqual({ identifier: 'tsmesh-pilot' });
      await waitFor(() => {
        const rows = syncz(pilot.xds) as { types: Record<string, { synced: boolean }> }[];
        return rows.length === n && rows.every((row) => row.types['rds']?.synced);
      });
    } finally {
      for (const r of raws) r.close();
    }
  });

  it('serves the per-type CDS service (StreamClusters) as well as ADS', async () => {
    const Ctor = grpc.makeGenericClientConstructor(cdsServiceDefinition(), 'cds');
    const cds = new Ctor(pilot.grpcAddress, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      StreamClusters(): grpc.ClientDuplexStream<Record<string, unknown>, Record<string, unknown>>;
    };
    const call = cds.StreamClusters();
    const first = new Promise<Record<string, unknown>>((resolve) => call.once('data', resolve));
    call.on('error', () => undefined);
    call.write({ node: { id: NODE }, type_url: TYPE.cluster, resource_names: [] });
    const res = await first;
    expect(res['type_url']).toBe(TYPE.cluster);
    expect((res['resources'] as unknown[]).length).toBeGreaterThan(0);
    call.cancel();
    cds.close();
  });

  it('closes a stream whose first request has a bad node, and stays up', async () => {
    const bad = client('not-a-node-id');
    bad.send(TYPE.cluster);
    await waitFor(() => bad.closed);
    expect((bad.closed as { code?: number }).code).toBe(3);
    const good = client();
    const cds = await good.subscribe(TYPE.cluster);
    expect(cds.resources.length).toBeGreaterThan(0);
  });

  it('survives garbage bytes and an oversized DiscoveryRequest', async () => {
    const raw = new grpc.Client(pilot.grpcAddress, grpc.credentials.createInsecure());
    const ident = (b: Buffer) => b;
    const garbage = raw.makeBidiStreamRequest(
      '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
      ident,
      ident,
    );
    let garbageStatus: grpc.StatusObject | undefined;
    garbage.on('error', () => undefined);
    garbage.on('status', (st: grpc.StatusObject) => (garbageStatus = st));
    garbage.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));
    await waitFor(() => garbageStatus, { what: 'garbage stream closed' });
    expect(garbageStatus?.code).not.toBe(grpc.status.OK);
    raw.close();

    const big = client();
    big.send(
      TYPE.endpoint,
      Array.from({ length: 60_000 }, (_, i) => `outbound|9080|v${i}|${'x'.repeat(64)}.default.svc.cluster.local`),
    );
    await waitFor(() => big.closed, { what: 'oversized stream closed' });
    expect((big.closed as { code?: number }).code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    const good = client();
    expect((await good.subscribe(TYPE.cluster)).resources.length).toBeGreaterThan(0);
  });

  it('returns to zero connections and baseline memory after many clients connect and vanish', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const cycle = async (round: number, n: number) => {
      const batch = Array.from(
        { length: n },
        (_, i) =>
          new AdsClient({
            address: pilot.grpcAddress,
            nodeId: `sidecar~10.9.${round % 250}.${i}~p${i}.default~default.svc.cluster.local`,
          }),
      );
      await Promise.all(batch.map((b) => b.subscribe(TYPE.cluster)));
      // half leave politely, half just vanish (cancelled mid-stream)
      batch.forEach((b, i) => (i % 2 ? b.close() : b.cancel()));
      await waitFor(() => pilot.xds.connections.size === 0, { what: 'streams cleaned up' });
    };
    for (let r = 0; r < 5; r++) await cycle(r, 40);
    gc();
    const baseline = process.memoryUsage().heapUsed;
    for (let r = 0; r < 25; r++) await cycle(r, 40);
    gc();
    const after = process.memoryUsage().heapUsed;
    expect(pilot.xds.connections.size).toBe(0);
    expect(await metricValue(pilot.metrics.registry, 'pilot_xds')).toBe(0);
    // 1,000 streams later the heap is back near where it was (generous bound: the test's own clients live here too)
    expect(after - baseline).toBeLessThan(20 * 1024 * 1024);
  });
});
