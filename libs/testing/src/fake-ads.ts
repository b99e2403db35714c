/**
 * A fake xDS server for tests: a minimal ADS server (real @grpc/grpc-js on 127.0.0.1, Envoy's
 * AggregatedDiscoveryService from @tsmesh/protocol) that records every DiscoveryRequest and
 * pushes state-of-the-world responses to every open stream. Shared by the proxy and gateway tests.
 */
import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition, packAny } from '@tsmesh/protocol';

/** A DiscoveryRequest as @grpc/proto-loader decodes it (snake_case fields). */
export interface WireRequest {
  version_info: string;
  node?: { id: string; metadata?: { fields: Record<string, Record<string, unknown>> } };
  type_url: string;
  response_nonce: string;
  resource_names: string[];
  error_detail?: { code: number; message: string } | null;
}

export class FakeAds {
  private readonly server = new grpc.Server();
  private readonly streams: Array<grpc.ServerDuplexStream<WireRequest, unknown>> = [];
  readonly requests: WireRequest[] = [];
  private nonce = 0;
  port = 0;

  /** Binds 127.0.0.1:`port` (0: a free port, then in `port`). */
  async start(port = 0): Promise<this> {
    this.server.addService(adsServiceDefinition(), {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<WireRequest, unknown>) => {
        this.streams.push(call);
        call.on('data', (r: WireRequest) => this.requests.push(r));
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
    return this;
  }

  /** Sends one response; returns its nonce. */
  push(typeUrl: string, version: string, resources: object[]): string {
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

  /** The request that acknowledged (ACK or NACK) the response with `nonce`, once it arrived. */
  reply(nonce: string): WireRequest | undefined {
    return this.requests.find((r) => r.response_nonce === nonce);
  }

  /** Ends every stream and shuts the server down. */
  stop(): void {
    for (const s of this.streams) s.destroy();
    this.server.forceShutdown();
  }
}
