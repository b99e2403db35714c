/**
 * ADS over gRPC (`envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources`)
 * with @grpc/grpc-js. Converts between the client's plain shapes and the wire: node metadata
 * becomes a google.protobuf.Struct, resources are unpacked from Any (a resource that fails to
 * decode is reported so the client NACKs the response).
 */
import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition, unpackAny, type WireAny } from '@tsmesh/protocol';
import type { AdsStream, AdsStreamHandlers, AdsTransport, DiscoveryRequest, DiscoveryResponse } from './types';

// protobufjs ships the well-known types pre-parsed with camelCase field names, whatever
// keepCase says, so google.protobuf.Value is written with nullValue/stringValue/….
type PbValue =
  | { nullValue: 'NULL_VALUE' }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: { fields: Record<string, PbValue> } }
  | { listValue: { values: PbValue[] } };

/** JSON value → google.protobuf.Value in proto-loader object form. */
export function toPbValue(v: unknown): PbValue {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toPbValue) } };
  if (typeof v === 'object') return { structValue: toPbStruct(v as Record<string, unknown>) };
  return { stringValue: String(v) };
}

export function toPbStruct(o: Record<string, unknown>): { fields: Record<string, PbValue> } {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, toPbValue(v)])) };
}

function toWire(req: DiscoveryRequest): Record<string, unknown> {
  const out: Record<string, unknown> = { ...req };
  if (req.node) out['node'] = { ...req.node, metadata: toPbStruct(req.node.metadata ?? {}) };
  return out;
}

interface WireResponse {
  version_info: string;
  resources: WireAny[];
  type_url: string;
  nonce: string;
}

function fromWire(res: WireResponse): DiscoveryResponse {
  const resources: DiscoveryResponse['resources'] = [];
  const decodeErrors: string[] = [];
  (res.resources ?? []).forEach((any, i) => {
    try {
      resources.push(unpackAny(any));
    } catch (e) {
      decodeErrors.push(`resources[${i}]: cannot decode ${any.type_url}: ${(e as Error).message}`);
    }
  });
  return {
    version_info: res.version_info ?? '',
    type_url: res.type_url ?? '',
    nonce: res.nonce ?? '',
    resources,
    ...(decodeErrors.length ? { decodeErrors } : {}),
  };
}

export interface GrpcAdsTransportOptions {
  /** `host:port` of the ADS server (Pilot's 15010). */
  address: string;
  credentials?: grpc.ChannelCredentials;
}

export class GrpcAdsTransport implements AdsTransport {
  private readonly client: grpc.Client & Record<string, unknown>;

  constructor(options: GrpcAdsTransportOptions) {
    const Ctor = grpc.makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');
    this.client = new Ctor(options.address, options.credentials ?? grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.initial_reconnect_backoff_ms': 500,
      // A sidecar's route table push can be hundreds of KiB; with HTTP/2's default 64 KiB window
      // every such push waits for window updates. 16 MiB is a credit, not an allocation (Envoy's
      // own default for gRPC clusters is larger still, 256 MiB).
      'grpc-node.flow_control_window': 16 * 1024 * 1024,
    }) as grpc.Client & Record<string, unknown>;
  }

  open(handlers: AdsStreamHandlers): AdsStream {
    const method = this.client['StreamAggregatedResources'] as () => grpc.ClientDuplexStream<unknown, WireResponse>;
    const call = method.call(this.client);
    let closed = false;
    const close = (reason: string) => {
      if (closed) return;
      closed = true;
      handlers.onClose(reason);
    };
    call.on('data', (res: WireResponse) => handlers.onResponse(fromWire(res)));
    call.on('error', (err: grpc.ServiceError) =>
      close(`${grpc.status[err.code] ?? err.code}: ${err.details ?? err.message}`),
    );
    call.on('end', () => close('stream ended by server'));
    return {
      send: (req) => {
        if (!closed) call.write(toWire(req));
      },
      close: () => {
        call.cancel();
      },
    };
  }

  close(): void {
    this.client.close();
  }
}
