/**
 * The identity flow's smallest mesh, from the built apps: Citadel with bootstrap tokens, Pilot
 * reading a config directory, and two sidecars that get their SPIFFE certificates from Citadel —
 * productpage (client side, serving apps through its HTTP proxy port) and reviews (server side, its
 * inbound listener bound on 127.0.0.3 in front of the app). The config holds the reviews Service
 * and Pod, a STRICT authentication Policy, and the reviews DestinationRule given by the caller in
 * its own file, which a test may rewrite while Pilot watches the directory.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports';
import { ensureBuilt, startApp, startPilot, type AppProcess } from './process';

export interface MtlsPair {
  /** productpage's sidecar HTTP proxy port (send requests for `http://reviews:9080/…` through it). */
  proxyPort: number;
  /** The reviews pod's port: its sidecar's inbound listener listens on 127.0.0.3:<reviewsPort>. */
  reviewsPort: number;
  reviewsSidecar: AppProcess;
  productpageSidecar: AppProcess;
  /** The reviews DestinationRule file; rewrite it to change the rule. */
  destinationRuleFile: string;
}

/** A DestinationRule for reviews with ISTIO_MUTUAL and the given extra `trafficPolicy` fields (flow YAML). */
export function reviewsDestinationRule(extraPolicy = ''): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}${extraPolicy ? `, ${extraPolicy}` : ''}}
`;
}

/** Sidecar flags both sidecars share: loopback admin and health, no Prometheus port, a short drain. */
const COMMON = [
  '--admin-address',
  '127.0.0.1:0',
  '--prometheus-address',
  '',
  '--health-address',
  '127.0.0.1:0',
  '--outbound-address',
  '127.0.0.1:0',
  '--inbound-address',
  '',
  '--drain-duration',
  '1s',
];

/**
 * Starts the pair under `dir` (a temporary directory the caller cleans up), in front of the app on
 * 127.0.0.1:`appPort`. Stop it with `stopAllApps()`.
 */
export async function startMtlsPair(opts: {
  dir: string;
  appPort: number;
  destinationRule?: string;
}): Promise<MtlsPair> {
  for (const p of ['pilot', 'citadel', 'proxy']) ensureBuilt(p);
  const reviewsPort = await freePort();
  const cfg = join(opts.dir, 'config');
  mkdirSync(cfg, { recursive: true });
  writeFileSync(
    join(cfg, 'reviews.yaml'),
    [
      `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default, labels: {app: reviews}}
spec:
  clusterIP: 10.96.0.12
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: ${reviewsPort}}]
`,
      `apiVersion: v1
kind: Pod
metadata: {name: reviews-v1-abc, namespace: default, labels: {app: reviews, version: v1}}
spec:
  serviceAccountName: bookinfo-reviews
  containers: [{name: reviews, ports: [{name: http, containerPort: ${reviewsPort}}]}]
status: {phase: Running, podIP: 127.0.0.3}
`,
      `apiVersion: authentication.istio.io/v1alpha1
kind: Policy
metadata: {name: reviews-strict, namespace: default}
spec:
  targets: [{name: reviews}]
  peers: [{mtls: {}}]
`,
    ].join('---\n'),
  );
  const destinationRuleFile = join(cfg, 'reviews-dr.yaml');
  writeFileSync(destinationRuleFile, opts.destinationRule ?? reviewsDestinationRule());
  const tokens = join(opts.dir, 'tokens');
  writeFileSync(
    tokens,
    'token-reviews-0123456789 default/bookinfo-reviews\ntoken-productpage-012345 default/bookinfo-productpage\n',
  );
  const citadel = await startApp('citadel', {
    args: [
      '--grpc-address',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--ca-dir',
      join(opts.dir, 'ca'),
      '--bootstrap-tokens',
      tokens,
    ],
    ready: { listeners: ['grpc', 'http'], http: '/ready' },
  });
  const pilot = await startPilot({ configDir: cfg });
  const ready = { listeners: ['admin', 'health'], http: '/healthz/ready', httpListener: 'health' };
  const sidecar = (app: string, ip: string, token: string, extra: string[]) =>
    startApp('proxy', {
      args: [
        '--discovery-address',
        pilot.addresses['grpc'],
        '--service-node',
        `sidecar~${ip}~${app}-v1-abc.default~default.svc.cluster.local`,
        '--service-cluster',
        app,
        '--labels',
        `app=${app},version=v1`,
        ...extra,
        '--citadel-address',
        citadel.addresses['grpc'],
        '--citadel-token',
        token,
        '--service-account',
        `bookinfo-${app}`,
        ...COMMON,
      ],
      ready,
    });
  const reviewsSidecar = await sidecar('reviews', '127.0.0.3', 'token-reviews-0123456789', [
    '--bind-inbound-listeners',
    '--app-address',
    `127.0.0.1:${opts.appPort}`,
  ]);
  const proxyPort = await freePort();
  const productpageSidecar = await sidecar('productpage', '127.0.0.11', 'token-productpage-012345', [
    '--http-proxy-port',
    String(proxyPort),
  ]);
  return { proxyPort, reviewsPort, reviewsSidecar, productpageSidecar, destinationRuleFile };
}
