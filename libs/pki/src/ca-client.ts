/**
 * Client for Citadel's `IstioCertificateService.CreateCertificate`: sends a CSR
 * with `authorization: Bearer <token>` and returns the PEM chain (leaf first,
 * root last). Used by the proxy's identity provider, tests and benchmarks.
 *
 * It speaks gRPC over `node:http2` itself (H2UnaryClient of @tsmesh/core), not through
 * grpc-js: a sidecar with mTLS would otherwise load grpc-js for this one call every
 * certificate lifetime (about 2.5–3 MB of its RSS, docs/proxy.md). The messages are coded
 * by ca-wire.ts.
 */
import { GrpcCallError, GrpcStatus, H2UnaryClient } from '@tsmesh/core';
import { CA_SERVICE_PATH, decodeCertificateResponse, encodeCertificateRequest } from './ca-wire';

export interface CaClientOptions {
  /** `host:port` of Citadel's gRPC listener. */
  address: string;
  /** Bearer token proving the caller's identity (service-account or bootstrap token). */
  token: string | (() => string);
  /** PEM root to verify Citadel over TLS; plaintext when omitted (loopback/local mode). */
  rootCertPem?: string;
  timeoutMs?: number;
}

export class CaClient {
  private readonly client: H2UnaryClient;

  constructor(private readonly o: CaClientOptions) {
    // A CSR goes out once per certificate lifetime: no connection is kept between them.
    this.client = new H2UnaryClient(o.address, { rootCertPem: o.rootCertPem, idleTimeoutMs: 30_000 });
  }

  /**
   * Rejects with a GrpcCallError of @tsmesh/core (`code` and `details`, as grpc-js's
   * ServiceError) on refusal or when Citadel is unreachable (UNAVAILABLE) or too slow
   * (DEADLINE_EXCEEDED after `timeoutMs`, default 10 s).
   */
  async createCertificate(csr: string, validitySeconds = 0): Promise<string[]> {
    const token = typeof this.o.token === 'function' ? this.o.token() : this.o.token;
    const res = await this.client.call(
      CA_SERVICE_PATH,
      encodeCertificateRequest({ csr, validityDuration: validitySeconds }),
      this.o.timeoutMs ?? 10_000,
      { authorization: `Bearer ${token}` },
    );
    try {
      return decodeCertificateResponse(res).certChain;
    } catch (e) {
      throw new GrpcCallError(GrpcStatus.INTERNAL, `malformed CreateCertificate response: ${(e as Error).message}`);
    }
  }

  close(): void {
    this.client.close();
  }
}
