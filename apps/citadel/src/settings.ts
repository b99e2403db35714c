import { defineConfig } from '@tsmesh/core';

/** Citadel's settings; flags, env vars (`CITADEL_*`) and docs/config.md come from this list. */
export const citadelConfig = defineConfig('citadel', 'CITADEL', {
  grpcAddress: {
    kind: 'string',
    default: '0.0.0.0:8060',
    description: 'Address of the IstioCertificateService gRPC listener (port 0 picks a free port).',
  },
  httpAddress: {
    kind: 'string',
    default: '0.0.0.0:15014',
    description: 'Address of the HTTP listener serving /root-cert.pem, /metrics, /ready.',
  },
  caDir: {
    kind: 'string',
    default: '.tsmesh/citadel',
    description: 'Directory holding the self-signed root (ca-cert.pem, ca-key.pem mode 0600); created on first start.',
  },
  cacertsDir: {
    kind: 'string',
    default: '',
    description:
      "Plugged-in CA directory as Istio's `cacerts` secret (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem); overrides --ca-dir.",
  },
  grpcTls: {
    kind: 'bool',
    default: false,
    description:
      'Serve the CA API over TLS with a certificate Citadel issues itself from its CA (clients verify it with /root-cert.pem).',
  },
  serverNames: {
    kind: 'list',
    default: 'istio-citadel.istio-system.svc,istio-citadel.istio-system,istio-citadel,localhost,127.0.0.1',
    description: 'DNS names and IPs in the serving certificate when --grpc-tls is on.',
  },
  trustDomain: { kind: 'string', default: 'cluster.local', description: 'SPIFFE trust domain of issued identities.' },
  workloadCertTtl: {
    kind: 'duration',
    default: '24h',
    description: 'Workload certificate lifetime when the request names none.',
  },
  maxWorkloadCertTtl: {
    kind: 'duration',
    default: '2160h',
    description: 'Longest workload certificate lifetime a caller may request (90 days, as Istio 1.0).',
  },
  rootCertTtl: {
    kind: 'duration',
    default: '87600h',
    description: 'Lifetime of a newly generated self-signed root (10 years).',
  },
  keyAlgorithm: {
    kind: 'enum',
    default: 'ec-p256',
    values: ['ec-p256', 'rsa-2048'],
    description: 'Key algorithm of a newly generated self-signed root.',
  },
  bootstrapTokens: {
    kind: 'string',
    default: '',
    description:
      'Tokens file for local workloads: one `<token> <namespace>/<serviceaccount>` per line (re-read when it changes).',
  },
  kubeTokenReview: {
    kind: 'bool',
    default: false,
    description:
      'Authenticate callers by their Kubernetes service-account token (TokenReview, in-cluster or KUBECONFIG).',
  },
  tokenAudiences: {
    kind: 'list',
    default: '',
    description: 'Audiences passed to TokenReview (empty: the API server default).',
  },
  secretMode: {
    kind: 'bool',
    default: false,
    description:
      'Istio 1.0 secret mode: watch ServiceAccounts and write `istio.<sa>` secrets (cert-chain.pem, key.pem, root-cert.pem).',
  },
  secretNamespaces: { kind: 'list', default: '', description: 'Namespaces watched in secret mode (empty: all).' },
  secretResync: {
    kind: 'duration',
    default: '1m',
    description: 'Secret-mode resync interval (renew at half-life or when the root changes).',
  },
});
