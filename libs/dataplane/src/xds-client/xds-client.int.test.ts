import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition, packAny, TypeUrl } from '@tsmesh/protocol';
import { waitFor } from '@tsmesh/testing';
import type { Msg, Snapshot } from '../engine/types';
import { H2AdsTransport } from './h2-transport';
import { XdsClient } from './xds-client';

interface WireReq {
  version_info: string;
  node?: { id: string; metadata?: { fields: Record<string, { stringValue?: string }> } };
  type_url: string;
  response_nonce: string;
  resource_names: string[];
  error_detail?: { code: number; message: string } | null;
}

/** A tiny ADS server: records requests, pushes SotW responses to every open stream. */
class FakeAds {
  server = new grpc.Server();
  streams: Array<grpc.ServerDuplexStream<WireReq, unknown>> = [];
  requests: WireReq[] = [];
  nonce = 0;
  port = 0;

  async start(port = 0): Promise<void> {
    this.server.addService(adsServiceDefinition(), {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<WireReq, unknown>) => {
        this.streams.push(call);
        call.on('data', (r: WireReq) => this.requests.push(r));
        call.on('error', () => undefined);
        call.on('end', () => call.end());
      },
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
  }

  push(typeUrl: string, version: string, resources: Msg[]): string {
    const nonce = `n${++this.nonce}`;
    const res = {
      version_info: version,
      type_url: typeUrl,
      nonce,
      resources: resources.map((r) => packAny(typeUrl, r)),
    };
    for (const s of this.streams) if (!s.destroyed) s.write(res);
    return nonce;
  }

  reply(nonce: string): WireReq | undefined {
    return this.requests.find((r) => r.response_nonce === nonce);
  }

  stop(): void {
    for (const s of this.streams) s.destroy();
    this.server.forceShutdown();
  }
}

class Sink {
  applied: Snapshot[] = [];
  validate(_t: string, rs: Msg[]) {
    return rs.filter((r) => String(r['name']).startsWith('bad')).map((r) => `${r['name']}: not allowed`);
  }
  apply(s: Snapshot) {
    this.applied.push(s);
  }
  clusterNames() {
    return (this.applied[this.applied.length - 1]?.clusters ?? []).map((c) => c['name']);
  }
}

const cluster = (name: string) => ({
  name,
  type: 'STATIC',
  connect_timeout: { seconds: 1 },
  load_assignment: {
    cluster_name: name,
    endpoints: [
      { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9 } } } }] },
    ],
  },
});

describe('XdsClient over node:http2 gRPC against a fake (grpc-js) ADS server', () => {
  let ads: FakeAds;
  let client: XdsClient;
  const sink = new Sink();

  afterAll(async () => {
    await client?.stop();
    ads?.stop();
  });

  it('ACKs, NACKs with error_detail keeping the old config, and resumes after the server comes back', async () => {
    ads = new FakeAds();
    await ads.start();
    client = new XdsClient({
      node: {
        id: 'sidecar~127.0.0.5~productpage-v1-abc.default~default.svc.cluster.local',
        cluster: 'productpage',
        metadata: { NAMESPACE: 'default' },
      },
      transport: new H2AdsTransport({ address: `127.0.0.1:${ads.port}` }),
      sink,
      backoffBaseMs: 20,
      backoffMaxMs: 100,
    });
    client.start();
    await waitFor(() => ads.requests.length >= 2, { what: 'initial CDS+LDS requests' });
    expect(ads.requests[0].node?.id).toBe('sidecar~127.0.0.5~productpage-v1-abc.default~default.svc.cluster.local');
    expect(ads.requests[0].node?.metadata?.fields['NAMESPACE'].stringValue).toBe('default');

    const n1 = ads.push(TypeUrl.CLUSTER, 'v1', [cluster('outbound|9080||reviews.default.svc.cluster.local')]);
    const ack = await waitFor(() => ads.reply(n1), { what: 'ACK' });
    expect(ack).toMatchObject({ version_info: 'v1', type_url: TypeUrl.CLUSTER });
    expect(ack.error_detail ?? null).toBeNull();
    ads.push(TypeUrl.LISTENER, 'l1', []);
    await waitFor(() => client.isReady(), { what: 'ready' });
    expect(sink.clusterNames()).toEqual(['outbound|9080||reviews.default.svc.cluster.local']);

    const n2 = ads.push(TypeUrl.CLUSTER, 'v2', [cluster('bad-cluster')]);
    const nack = await waitFor(() => ads.reply(n2), { what: 'NACK' });
    expect(nack.version_info).toBe('v1');
    expect(nack.error_detail?.message).toContain('bad-cluster: not allowed');
    expect(sink.clusterNames()).toEqual(['outbound|9080||reviews.default.svc.cluster.local']);

    const port = ads.port;
    ads.stop();
    await waitFor(() => !client.isConnected(), { what: 'disconnect' });
    expect(sink.clusterNames()).toEqual(['outbound|9080||reviews.default.svc.cluster.local']);

    ads = new FakeAds();
    await ads.start(port);
    const resumed = await waitFor(() => ads.requests.find((r) => r.type_url === TypeUrl.CLUSTER), {
      what: 'reconnect',
    });
    expect(resumed).toMatchObject({ version_info: 'v1', response_nonce: '' });
    expect(resumed.node?.id).toContain('sidecar~');
    const n3 = ads.push(TypeUrl.CLUSTER, 'v3', [cluster('outbound|9080||ratings.default.svc.cluster.local')]);
    await waitFor(() => ads.reply(n3), { what: 'ACK after reconnect' });
    await waitFor(() => sink.clusterNames()[0] === 'outbound|9080||ratings.default.svc.cluster.local', {
      what: 'new config',
    });
  });

  it('NACKs a resource that does not decode as its type', async () => {
    const n = `n${++ads.nonce}`;
    for (const s of ads.streams) {
      if (!s.destroyed) {
        s.write({
          version_info: 'v9',
          type_url: TypeUrl.CLUSTER,
          nonce: n,
          resources: [{ type_url: TypeUrl.CLUSTER, value: Buffer.from([0xff, 0xff, 0xff]) }],
        });
      }
    }
    const nack = await waitFor(() => ads.reply(n), { what: 'NACK' });
    expect(nack.error_detail?.message).toContain('cannot decode');
    expect(nack.version_info).toBe('v3');
  });
});
