/**
 * The `IstioCertificateService.CreateCertificate` handler: authenticate the
 * caller from its bearer token, then sign the CSR for that identity only.
 * Every refusal is a gRPC status with the citadel error's code and is counted.
 */
import * as grpc from '@grpc/grpc-js';
import { isMeshError, type Clock, type Logger } from '@tsmesh/core';
import { caServiceDefinition, type CertificateRequest, type CertificateResponse } from '@tsmesh/pki';
import { authenticateAny, bearerToken, type Authenticator } from '../authn/authenticator';
import { citadelErrors } from '../errors';
import type { CitadelMetrics } from '../metrics';
import type { WorkloadSigner } from '../ca/signer';

export interface CaServiceDeps {
  signer: WorkloadSigner;
  authenticators: readonly Authenticator[];
  trustDomain: string;
  metrics: CitadelMetrics;
  logger: Logger;
  clock: Clock;
}

const REASONS: Record<string, string> = {
  CITADEL_ERR_UNAUTHENTICATED: 'unauthenticated',
  CITADEL_ERR_IDENTITY_MISMATCH: 'identity_mismatch',
  CITADEL_ERR_BAD_REQUEST: 'bad_request',
};

/** Handles one request; resolves to the response or rejects with a MeshError. */
export async function createCertificate(
  deps: CaServiceDeps,
  req: CertificateRequest,
  authorization: string | undefined,
): Promise<CertificateResponse> {
  const token = bearerToken(authorization);
  if (!token) throw citadelErrors.error('CITADEL_ERR_UNAUTHENTICATED', { why: 'no bearer token' });
  const who = await authenticateAny(deps.authenticators, token);
  if (!who) throw citadelErrors.error('CITADEL_ERR_UNAUTHENTICATED', { why: 'token not recognised' });
  const proved = { trustDomain: deps.trustDomain, namespace: who.namespace, serviceAccount: who.serviceAccount };
  const result = deps.signer.sign(req.csr, proved, req.validityDuration);
  deps.metrics.lastIssuedExpiry.set(result.notAfter / 1000);
  deps.logger.debug(
    {
      namespace: who.namespace,
      serviceAccount: who.serviceAccount,
      via: who.via,
      notAfter: new Date(result.notAfter).toISOString(),
    },
    'issued workload certificate',
  );
  return { certChain: result.chain };
}

export function addCaService(server: grpc.Server, deps: CaServiceDeps): void {
  server.addService(caServiceDefinition() as unknown as grpc.ServiceDefinition, {
    CreateCertificate: (
      call: grpc.ServerUnaryCall<CertificateRequest, CertificateResponse>,
      callback: grpc.sendUnaryData<CertificateResponse>,
    ) => {
      const started = deps.clock.monotonic();
      deps.metrics.csrCount.inc();
      const auth = call.metadata.get('authorization')[0];
      createCertificate(deps, call.request, typeof auth === 'string' ? auth : undefined).then(
        (res) => {
          deps.metrics.issued.inc();
          deps.metrics.signLatency.observe((deps.clock.monotonic() - started) / 1000);
          callback(null, res);
        },
        (err: unknown) => {
          const reason = isMeshError(err) ? (REASONS[err.code] ?? 'internal') : 'internal';
          deps.metrics.failed.inc({ reason });
          const code = isMeshError(err) ? err.grpcCode : grpc.status.INTERNAL;
          const details = isMeshError(err) ? `${err.code}: ${err.message}` : 'internal error';
          if (reason === 'internal') deps.logger.error({ err }, 'CSR signing failed');
          else deps.logger.warn({ reason, peer: call.getPeer(), detail: details }, 'CSR refused');
          callback({ code, details });
        },
      );
    },
  });
}
