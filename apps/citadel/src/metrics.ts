/**
 * Citadel's metrics, with Istio's `citadel_server_*` names where Istio had one.
 * Failures carry a `reason` label: unauthenticated, identity_mismatch,
 * bad_request, internal.
 */
import { counter, createRegistry, gauge, histogram, type Registry } from '@tsmesh/core';

export function citadelMetrics(registry: Registry = createRegistry()) {
  return {
    registry,
    csrCount: counter(registry, 'citadel_server_csr_count', 'CSRs received by the CA service.'),
    issued: counter(registry, 'citadel_server_success_cert_issuance_count', 'Certificates issued.'),
    failed: counter(registry, 'citadel_server_csr_failure_count', 'CSRs refused, by reason.', ['reason']),
    signLatency: histogram(
      registry,
      'citadel_server_csr_sign_seconds',
      'Time to authenticate and sign one CSR.',
      [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    ),
    rootExpiry: gauge(
      registry,
      'citadel_server_root_cert_expiry_timestamp',
      'Unix time (s) when the root certificate expires.',
    ),
    chainExpiry: gauge(
      registry,
      'citadel_server_cert_chain_expiry_timestamp',
      'Unix time (s) when the signing certificate expires.',
    ),
    lastIssuedExpiry: gauge(
      registry,
      'citadel_server_last_issued_cert_expiry_timestamp',
      'Unix time (s) when the most recent workload certificate expires.',
    ),
    secretsWritten: counter(
      registry,
      'citadel_secret_controller_secrets_written_total',
      'istio.<sa> secrets created or renewed (secret mode).',
    ),
  };
}

export type CitadelMetrics = ReturnType<typeof citadelMetrics>;
