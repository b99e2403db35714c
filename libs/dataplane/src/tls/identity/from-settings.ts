/**
 * Wiring for the proxy app: the identity settings to spread into its
 * `defineConfig` spec, and `startIdentity` which picks the source — Citadel's
 * CSR flow when `--citadel-address` is set, the 1.0 `/etc/certs` files when
 * `--certs-dir` is set, none otherwise — and starts it. The proxy then passes
 * the provider as `tls.provider` to its Dataplane and awaits `ready()` before
 * reporting ready.
 */
import { readFileSync } from 'node:fs';
import type { Clock, Logger, Random } from '@tsmesh/core';
import { CaClient, formatSpiffeId, spiffeId } from '@tsmesh/pki';
import { CitadelIdentityProvider } from './citadel-provider';
import { FileIdentityProvider } from './file-provider';
import type { IdentityProvider } from './types';

/** Settings (defineConfig spec entries) for the proxy's identity. */
export const identitySettingsSpec = {
  citadelAddress: {
    kind: 'string',
    default: '',
    env: 'TSMESH_CA_ADDRESS',
    description: 'Citadel gRPC address (host:port) for the CSR flow; empty disables it.',
  },
  citadelToken: {
    kind: 'string',
    default: '',
    env: 'TSMESH_BOOTSTRAP_TOKEN',
    description:
      'Bearer token for Citadel given directly (the local launcher sets TSMESH_BOOTSTRAP_TOKEN); wins over --citadel-token-file.',
  },
  citadelTokenFile: {
    kind: 'string',
    default: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    description:
      'File holding the bearer token sent to Citadel (service-account token, or the launcher’s bootstrap token); re-read for every request.',
  },
  citadelRootCert: {
    kind: 'string',
    default: '',
    description:
      'PEM file of the mesh root: pins Citadel’s TLS and the issued chain (empty: plaintext to Citadel, root taken from the first response).',
  },
  serviceAccount: {
    kind: 'string',
    default: 'default',
    description: 'Service account whose SPIFFE identity the proxy requests.',
  },
  trustDomain: { kind: 'string', default: 'cluster.local', description: 'SPIFFE trust domain.' },
  workloadCertTtl: {
    kind: 'duration',
    default: '0s',
    description: 'Requested certificate lifetime (0: Citadel’s default).',
  },
  certsDir: {
    kind: 'string',
    default: '',
    description:
      'Istio 1.0 secret mode: directory with cert-chain.pem, key.pem, root-cert.pem (used when --citadel-address is empty).',
  },
} as const;

export interface IdentitySettings {
  citadelAddress: string;
  citadelToken: string;
  citadelTokenFile: string;
  citadelRootCert: string;
  serviceAccount: string;
  trustDomain: string;
  workloadCertTtl: number;
  certsDir: string;
}

export interface IdentityDeps {
  namespace: string;
  clock: Clock;
  random: Random;
  logger: Logger;
}

export interface StartedIdentity {
  provider: IdentityProvider;
  stop(): void;
}

/** Starts the configured identity source, or returns undefined when none is configured. */
export function startIdentity(s: IdentitySettings, d: IdentityDeps): StartedIdentity | undefined {
  if (s.citadelAddress) {
    const rootCertPem = s.citadelRootCert ? readFileSync(s.citadelRootCert, 'utf8') : undefined;
    const ca = new CaClient({
      address: s.citadelAddress,
      token: s.citadelToken ? s.citadelToken : () => readFileSync(s.citadelTokenFile, 'utf8').trim(),
      rootCertPem,
    });
    const provider = new CitadelIdentityProvider({
      spiffeId: formatSpiffeId(spiffeId(d.namespace, s.serviceAccount, s.trustDomain)),
      ca,
      rootCertPem,
      ttlSeconds: Math.round(s.workloadCertTtl / 1000),
      clock: d.clock,
      random: d.random,
      logger: d.logger,
    }).start();
    return {
      provider,
      stop: () => {
        provider.stop();
        ca.close();
      },
    };
  }
  if (s.certsDir) {
    const provider = new FileIdentityProvider({ dir: s.certsDir, clock: d.clock, logger: d.logger }).start();
    return { provider, stop: () => provider.stop() };
  }
  return undefined;
}
