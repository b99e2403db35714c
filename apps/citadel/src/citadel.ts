/**
 * Wires Citadel: CA (self-signed or plugged-in) → signer → gRPC CA service and
 * HTTP endpoints, plus the optional 1.0 secret mode. Returned handle stops it
 * all gracefully. main.ts only parses settings and calls `startCitadel`.
 */
import * as grpc from '@grpc/grpc-js';
import type http from 'node:http';
import { systemClock, type Clock, type Logger, type Settings } from '@tsmesh/core';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { isIP } from 'node:net';
import { certToPem, issueCertificate, privateKeyToPem, type KeyAlgorithm } from '@tsmesh/pki';
import { loadOrCreateCa, type CaBundle } from './ca/ca-store';
import { WorkloadSigner } from './ca/signer';
import type { Authenticator } from './authn/authenticator';
import { BootstrapTokens } from './authn/bootstrap-tokens';
import { KubeTokenReview, kubeTokenReviewer, type TokenReviewFn } from './authn/kube-token-review';
import { citadelMetrics, type CitadelMetrics } from './metrics';
import { addCaService } from './server/ca-service';
import { createHttpServer } from './server/http-server';
import { SecretController, kubeSecretsApi, type SecretsApi } from './secrets/secret-controller';
import type { citadelConfig } from './settings';

export type CitadelSettings = Settings<(typeof citadelConfig)['specs']>;

export interface CitadelDeps {
  logger: Logger;
  clock?: Clock;
  /** Replaces the real TokenReview call (tests). */
  tokenReview?: TokenReviewFn;
  /** Replaces the real Kubernetes API in secret mode (tests). */
  secretsApi?: SecretsApi;
}

export interface RunningCitadel {
  grpcAddress: string;
  httpAddress: string;
  ca: CaBundle;
  metrics: CitadelMetrics;
  stop(): Promise<void>;
}

/** A serving certificate from Citadel's own CA, so clients can pin /root-cert.pem. */
function servingCredentials(ca: CaBundle, names: readonly string[], now: number): grpc.ServerCredentials {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const chain = [
    issueCertificate({
      subjectKey: createPublicKey(privateKey),
      subject: [['CN', names[0] ?? 'istio-citadel']],
      sans: { dns: names.filter((n) => !isIP(n)), ips: names.filter((n) => isIP(n)) },
      ttlMs: 365 * 86_400_000,
      now,
      issuer: ca.signingCert,
      signingKey: ca.signingKey,
    }),
    ...(ca.signingCert.raw.equals(ca.root.raw) ? [] : [certToPem(ca.signingCert)]),
    ...ca.intermediates.map(certToPem),
  ].join('');
  return grpc.ServerCredentials.createSsl(
    null,
    [{ private_key: Buffer.from(privateKeyToPem(privateKey)), cert_chain: Buffer.from(chain) }],
    false,
  );
}

function splitAddress(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(addr.slice(i + 1)) };
}

export async function startCitadel(s: CitadelSettings, deps: CitadelDeps): Promise<RunningCitadel> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const ca = await loadOrCreateCa({
    caDir: s.caDir,
    cacertsDir: s.cacertsDir || undefined,
    trustDomain: s.trustDomain,
    rootTtlMs: s.rootCertTtl,
    keyAlgorithm: s.keyAlgorithm as KeyAlgorithm,
    now: clock.now(),
    logger,
  });
  const metrics = citadelMetrics();
  metrics.rootExpiry.set(Date.parse(ca.root.validTo) / 1000);
  metrics.chainExpiry.set(Date.parse(ca.signingCert.validTo) / 1000);
  const signer = new WorkloadSigner(ca, { defaultTtlMs: s.workloadCertTtl, maxTtlMs: s.maxWorkloadCertTtl, clock });

  const authenticators: Authenticator[] = [];
  if (s.bootstrapTokens) {
    const tokens = new BootstrapTokens(s.bootstrapTokens);
    await tokens.load();
    authenticators.push(tokens);
  }
  if (s.kubeTokenReview)
    authenticators.push(new KubeTokenReview(deps.tokenReview ?? (await kubeTokenReviewer()), s.tokenAudiences));
  if (authenticators.length === 0)
    logger.warn('no authenticator configured (--bootstrap-tokens, --kube-token-review): every CSR will be refused');

  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 });
  addCaService(server, { signer, authenticators, trustDomain: s.trustDomain, metrics, logger, clock });
  const g = splitAddress(s.grpcAddress);
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${g.host.includes(':') ? `[${g.host}]` : g.host}:${g.port}`,
      s.grpcTls ? servingCredentials(ca, s.serverNames, clock.now()) : grpc.ServerCredentials.createInsecure(),
      (err, port) => (err ? reject(err) : resolve(port)),
    ),
  );
  const grpcAddress = `${g.host}:${grpcPort}`;
  logger.info({ listener: 'grpc', address: grpcAddress }, 'listening');

  let secrets: SecretController | null = null;
  if (s.secretMode) {
    secrets = new SecretController({
      api: deps.secretsApi ?? (await kubeSecretsApi()),
      signer,
      trustDomain: s.trustDomain,
      ttlMs: s.workloadCertTtl,
      namespaces: s.secretNamespaces,
      clock,
      logger,
      metrics,
    });
    secrets.start(s.secretResync);
  }

  const httpServer: http.Server = createHttpServer(
    () => ca.rootPem,
    metrics.registry,
    () => true,
  );
  const h = splitAddress(s.httpAddress);
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(h.port, h.host, () => resolve());
  });
  const httpPort = (httpServer.address() as { port: number }).port;
  const httpAddress = `${h.host}:${httpPort}`;
  logger.info({ listener: 'http', address: httpAddress }, 'listening');

  return {
    grpcAddress,
    httpAddress,
    ca,
    metrics,
    async stop() {
      secrets?.stop();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    },
  };
}
