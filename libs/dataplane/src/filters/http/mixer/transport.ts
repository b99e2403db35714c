/**
 * gRPC transport to Mixer (istio.mixer.v1.Mixer) with a deadline per call. A Check is retried as
 * istio/proxy's mixer client retries it: any failed call (a gRPC status other than OK from Mixer,
 * a refused or reset connection, a deadline) is tried again up to `maxRetry` times, retry n
 * (0-based) after a whole number of ms drawn uniformly from [base, min(max, base·2ⁿ)]; the policy
 * is the filter config's NetworkFailPolicy, given per call because the transport of one Mixer
 * address is shared by every listener's config. A Report is never retried. Calls go over
 * `node:http2` directly (H2UnaryClient of @tsmesh/core), not grpc-js: Check is on the request path.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { GrpcCallError, H2UnaryClient, randomInt, type Clock, type Random } from '@tsmesh/core';
import { mixerServiceDefinition } from '@tsmesh/protocol';
import { decodeCheckResponse, encodeCheckRequest, type CheckRequestObject } from './check-codec';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './config';

export interface TransportOptions {
  checkTimeoutMs: number;
  reportTimeoutMs: number;
}

export const DEFAULT_TRANSPORT: TransportOptions = {
  checkTimeoutMs: 1000,
  reportTimeoutMs: 5000,
};

/** The wait before retry `attempt` (0-based): whole ms, uniform in [base, min(max, base·2^attempt)]. */
export function retryDelayMs(random: Random, attempt: number, policy: RetryPolicy): number {
  const base = policy.baseRetryMs;
  const ceiling = Math.max(base, Math.min(policy.maxRetryMs, base * 2 ** attempt));
  return base + randomInt(random, ceiling - base + 1);
}

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
    /** Called before each retry's wait, with the failure that caused it. */
    private readonly onRetry: (e: TransportError) => void = () => undefined,
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

  /** `req`: a CheckRequest in object form, or its bytes already encoded. */
  async check<T>(req: unknown, retry: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>('Check', req, this.opts.checkTimeoutMs);
      } catch (e) {
        if (!(e instanceof TransportError) || attempt >= retry.maxRetry) throw e;
        this.onRetry(e);
        await this.clock.sleep(retryDelayMs(this.random, attempt, retry));
      }
    }
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
