/**
 * gRPC transport to Mixer (istio.mixer.v1.Mixer) with a deadline per call and
 * optional retries with jittered exponential backoff on UNAVAILABLE (istio/proxy
 * defaults: 0 retries, base 80 ms, max 1 s). Calls go over `node:http2` directly
 * (H2UnaryClient of @tsmesh/core), not grpc-js: Check is on the request path.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { backoffDelay, GrpcCallError, GrpcStatus, H2UnaryClient, type Clock, type Random } from '@tsmesh/core';
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

/**
 * The Mixer service definition (a protobuf root of the Mixer protos and @grpc/proto-loader), built
 * on first use and only to serialise a Report given in object form: Check requests and the
 * sidecar's batched Reports arrive as bytes.
 */
let mixerService: ServiceDefinition | undefined;
const mixer = (): ServiceDefinition => (mixerService ??= mixerServiceDefinition());
const reportSerialize = (r: unknown): Buffer => (mixer()['Report'].requestSerialize as (r: unknown) => Buffer)(r);
const CHECK_PATH = '/istio.mixer.v1.Mixer/Check';
const REPORT_PATH = '/istio.mixer.v1.Mixer/Report';

export class MixerTransport {
  private client: H2UnaryClient | null = null;

  constructor(
    readonly address: string,
    private readonly opts: TransportOptions,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly onRetry: () => void = () => undefined,
  ) {}

  private async once<T>(method: 'Check' | 'Report', req: unknown, timeoutMs: number): Promise<T> {
    this.client ??= new H2UnaryClient(this.address);
    try {
      if (method === 'Check') {
        // Check is on the request path: the direct codecs write the request and read the response
        const bytes = Buffer.isBuffer(req) ? req : encodeCheckRequest(req as CheckRequestObject);
        return decodeCheckResponse(await this.client.call(CHECK_PATH, bytes, timeoutMs)) as T;
      }
      // Report: the batch's bytes are written as entries are added (ReportEncoder); ReportResponse
      // has no fields, so nothing is read back
      await this.client.call(REPORT_PATH, Buffer.isBuffer(req) ? req : reportSerialize(req), timeoutMs);
      return undefined as T;
    } catch (e) {
      if (e instanceof GrpcCallError) throw new TransportError(e.code, e.details);
      throw e;
    }
  }

  private async withRetries<T>(method: 'Check' | 'Report', req: unknown, timeoutMs: number): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(method, req, timeoutMs);
      } catch (e) {
        const retriable = e instanceof TransportError && e.code === GrpcStatus.UNAVAILABLE;
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

  /** `req`: ReportRequest bytes, or the object form. */
  report(req: unknown): Promise<void> {
    return this.once<unknown>('Report', req, this.opts.reportTimeoutMs).then(() => undefined);
  }

  close(): void {
    this.client?.close();
    this.client = null;
  }
}
