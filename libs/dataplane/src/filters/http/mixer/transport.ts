/**
 * gRPC transport to Mixer (istio.mixer.v1.Mixer) with a deadline per call and
 * optional retries with jittered exponential backoff on UNAVAILABLE (istio/proxy
 * defaults: 0 retries, base 80 ms, max 1 s).
 */
import * as grpc from '@grpc/grpc-js';
import { backoffDelay, type Clock, type Random } from '@tsmesh/core';
import { mixerServiceDefinition } from '@tsmesh/protocol';
import { decodeCheckResponse, encodeCheckRequest, type CheckRequestObject } from './check-codec';

export interface TransportOptions {
  checkTimeoutMs: number;
  reportTimeoutMs: number;
  retries: number;
  baseRetryMs: number;
  maxRetryMs: number;
}

export const DEFAULT_TRANSPORT: TransportOptions = {
  checkTimeoutMs: 1000,
  reportTimeoutMs: 5000,
  retries: 0,
  baseRetryMs: 80,
  maxRetryMs: 1000,
};

export class TransportError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const CHECK = mixerServiceDefinition()['Check'];

type Unary = (
  req: unknown,
  meta: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, r: unknown) => void,
) => void;

export class MixerTransport {
  private client: grpc.Client | null = null;
  private readonly Ctor = grpc.makeGenericClientConstructor(mixerServiceDefinition(), 'Mixer');

  constructor(
    readonly address: string,
    private readonly opts: TransportOptions,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly onRetry: () => void = () => undefined,
  ) {}

  private get stub(): Record<string, Unary> {
    this.client ??= new this.Ctor(this.address, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
    return this.client as unknown as Record<string, Unary>;
  }

  private once<T>(method: 'Check' | 'Report', req: unknown, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = (err: grpc.ServiceError | null, res: unknown) => {
        if (err) reject(new TransportError(err.code ?? grpc.status.UNKNOWN, err.details || err.message));
        else resolve(res as T);
      };
      const opts = { deadline: Date.now() + timeoutMs };
      const stub = this.stub;
      // Check is on the request path: the direct codecs write the request and read the response (same wire form)
      if (method === 'Check')
        (this.client as grpc.Client).makeUnaryRequest(
          CHECK.path,
          (r: CheckRequestObject | Buffer) => (Buffer.isBuffer(r) ? r : encodeCheckRequest(r)),
          decodeCheckResponse,
          req as CheckRequestObject | Buffer,
          new grpc.Metadata(),
          opts,
          done,
        );
      else stub[method].call(this.client, req, new grpc.Metadata(), opts, done);
    });
  }

  private async withRetries<T>(method: 'Check' | 'Report', req: unknown, timeoutMs: number): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(method, req, timeoutMs);
      } catch (e) {
        const retriable = e instanceof TransportError && e.code === grpc.status.UNAVAILABLE;
        if (!retriable || attempt >= this.opts.retries) throw e;
        this.onRetry();
        await this.clock.sleep(backoffDelay(this.random, attempt, this.opts.baseRetryMs, this.opts.maxRetryMs));
      }
    }
  }

  /** `req`: a CheckRequest in object form, or its bytes already encoded. */
  check<T>(req: unknown): Promise<T> {
    return this.withRetries<T>('Check', req, this.opts.checkTimeoutMs);
  }

  report(req: unknown): Promise<void> {
    return this.once<unknown>('Report', req, this.opts.reportTimeoutMs).then(() => undefined);
  }

  close(): void {
    this.client?.close();
    this.client = null;
  }
}
