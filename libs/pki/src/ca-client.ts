/**
 * Client for Citadel's `IstioCertificateService.CreateCertificate`: sends a CSR
 * with `authorization: Bearer <token>` and returns the PEM chain (leaf first,
 * root last). Used by the proxy's identity provider, tests and benchmarks.
 */
import * as grpc from '@grpc/grpc-js';
import { caServiceDefinition, type CertificateRequest, type CertificateResponse } from './ca-wire';

export interface CaClientOptions {
  /** `host:port` of Citadel's gRPC listener. */
  address: string;
  /** Bearer token proving the caller's identity (service-account or bootstrap token). */
  token: string | (() => string);
  /** PEM root to verify Citadel over TLS; plaintext when omitted (loopback/local mode). */
  rootCertPem?: string;
  timeoutMs?: number;
}

type UnaryFn = (
  req: CertificateRequest,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: CertificateResponse) => void,
) => void;

export class CaClient {
  private readonly client: grpc.Client & { CreateCertificate: UnaryFn };

  constructor(private readonly o: CaClientOptions) {
    const Ctor = grpc.makeGenericClientConstructor(
      caServiceDefinition() as unknown as grpc.ServiceDefinition,
      'IstioCertificateService',
    );
    const creds = o.rootCertPem
      ? grpc.credentials.createSsl(Buffer.from(o.rootCertPem))
      : grpc.credentials.createInsecure();
    this.client = new Ctor(o.address, creds) as unknown as grpc.Client & { CreateCertificate: UnaryFn };
  }

  /** Rejects with the grpc ServiceError (code + details) on refusal or when Citadel is unreachable. */
  createCertificate(csr: string, validitySeconds = 0): Promise<string[]> {
    const md = new grpc.Metadata();
    const token = typeof this.o.token === 'function' ? this.o.token() : this.o.token;
    md.set('authorization', `Bearer ${token}`);
    const deadline = Date.now() + (this.o.timeoutMs ?? 10_000);
    return new Promise((resolve, reject) =>
      this.client.CreateCertificate({ csr, validityDuration: validitySeconds }, md, { deadline }, (err, res) =>
        err ? reject(err) : resolve(res?.certChain ?? []),
      ),
    );
  }

  close(): void {
    this.client.close();
  }
}
