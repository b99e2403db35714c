/**
 * A minimal ADS client over real gRPC (tests and the benchmark): sends
 * DiscoveryRequests, decodes responses into the object form, ACKs or NACKs.
 */
import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition, unpackAny } from '@tsmesh/protocol';

type Obj = Record<string, unknown>;

export interface Response {
  version_info: string;
  nonce: string;
  type_url: string;
  resources: Obj[];
  /** Wire size of the resources. */
  bytes: number;
}

export interface AdsClientOptions {
  address: string;
  nodeId: string;
  metadata?: Record<string, string>;
  /** Decode resources (off for the benchmark's cheap path). */
  decode?: boolean;
}

/** protobufjs encodes google.protobuf.Value from camelCase names whatever keepCase says. */
function toStruct(m: Record<string, string>): Obj {
  return { fields: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { stringValue: v }])) };
}

export class AdsClient {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Obj, Obj>;
  private readonly waiting: { type: string; resolve: (r: Response) => void }[] = [];
  readonly received: Response[] = [];
  readonly last = new Map<string, Response>();
  closed?: grpc.StatusObject | Error;
  private sentNode = false;
  private listeners: ((r: Response) => void)[] = [];

  constructor(private readonly opts: AdsClientOptions) {
    const Ctor = grpc.makeGenericClientConstructor(adsServiceDefinition(), 'ads');
    this.client = new Ctor(opts.address, grpc.credentials.createInsecure());
    this.call = (
      this.client as unknown as { StreamAggregatedResources(): grpc.ClientDuplexStream<Obj, Obj> }
    ).StreamAggregatedResources();
    this.call.on('data', (raw: Obj) => this.onData(raw));
    this.call.on('error', (e) => (this.closed = e));
    this.call.on('status', (s) => (this.closed ??= s));
  }

  private onData(raw: Obj): void {
    const wire = (raw['resources'] as { type_url: string; value: Buffer }[]) ?? [];
    let bytes = 0;
    for (const w of wire) bytes += w.value.length;
    const r: Response = {
      version_info: String(raw['version_info']),
      nonce: String(raw['nonce']),
      type_url: String(raw['type_url']),
      resources: this.opts.decode === false ? [] : wire.map((w) => unpackAny(w) as Obj),
      bytes,
    };
    this.received.push(r);
    this.last.set(r.type_url, r);
    const i = this.waiting.findIndex((w) => w.type === r.type_url);
    if (i >= 0) this.waiting.splice(i, 1)[0].resolve(r);
    for (const l of this.listeners) l(r);
  }

  onResponse(fn: (r: Response) => void): void {
    this.listeners.push(fn);
  }

  /** Sends a DiscoveryRequest (the node goes with the first one). */
  send(typeUrl: string, names: string[] = [], ack?: { version: string; nonce: string; error?: string }): void {
    const req: Obj = {
      type_url: typeUrl,
      resource_names: names,
      version_info: ack?.version ?? '',
      response_nonce: ack?.nonce ?? '',
    };
    if (ack?.error) req['error_detail'] = { code: 3, message: ack.error };
    if (!this.sentNode) {
      req['node'] = { id: this.opts.nodeId, cluster: 'test', metadata: toStruct(this.opts.metadata ?? {}) };
      this.sentNode = true;
    }
    this.call.write(req);
  }

  /** Resolves with the next response of `typeUrl`. */
  next(typeUrl: string, timeoutMs = 10_000): Promise<Response> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${typeUrl} response within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push({
        type: typeUrl,
        resolve: (r) => {
          clearTimeout(t);
          resolve(r);
        },
      });
    });
  }

  /** Subscribes and waits for the first response. */
  async subscribe(typeUrl: string, names: string[] = []): Promise<Response> {
    const p = this.next(typeUrl);
    this.send(typeUrl, names);
    return p;
  }

  ack(r: Response, names: string[] = []): void {
    this.send(r.type_url, names, { version: r.version_info, nonce: r.nonce });
  }

  nack(r: Response, previousVersion: string, error: string, names: string[] = []): void {
    this.send(r.type_url, names, { version: previousVersion, nonce: r.nonce, error });
  }

  close(): void {
    this.call.end();
    this.call.cancel();
    this.client.close();
  }

  /** Drops the stream without a half-close (a client that vanishes). */
  cancel(): void {
    this.call.cancel();
    this.client.close();
  }
}
