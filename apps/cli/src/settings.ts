/** Settings of `tsmesh up` (flags and TSMESH_* env vars; docs/config.md section cli). */
import { defineConfig } from '@tsmesh/core';

export const upConfig = defineConfig(
  'cli',
  'TSMESH',
  {
    detach: {
      kind: 'bool',
      default: false,
      description: 'Return once the mesh is ready (`-d`); the supervisor keeps running in the background.',
    },
    manifests: {
      kind: 'string',
      default: 'k8s/overlays/demo',
      description: 'Kustomization (or YAML file) with the topology to run.',
    },
    stateDir: {
      kind: 'string',
      default: '.tsmesh',
      description: 'State folder: config/ (Pilot --config-dir), logs/, state.json.',
    },
    subnet: {
      kind: 'string',
      default: '127.0.10',
      description: 'First three octets of the loopback addresses given to pods (control plane .10+, workloads .100+).',
    },
    gatewayAddress: {
      kind: 'string',
      default: '127.0.0.1:8080',
      description: "Address of the ingress gateway's HTTP listener (the k8s Service maps 80 to 8080).",
    },
    samples: {
      kind: 'list',
      default: 'samples/ingress.yaml',
      description: 'Istio config applied at start (the ingress Gateway + VirtualService of the demos).',
    },
    without: {
      kind: 'list',
      default: '',
      description: 'Components not to run even when built: pilot, proxy, gateway, mixer, citadel.',
    },
    build: {
      kind: 'bool',
      default: true,
      description:
        'Build what is stale first (`npx nx run-many -t build`); a failed build is reported and the built parts still run.',
    },
    readyTimeout: { kind: 'duration', default: '90s', description: 'How long to wait for every process to be ready.' },
    databaseUrl: {
      kind: 'string',
      default: '',
      env: 'DATABASE_URL',
      description:
        'PostgreSQL for the shop demo; empty runs the postgres pod as one embedded PGlite (data in <state-dir>/data/postgres).',
    },
    zipkinAddress: {
      kind: 'string',
      default: '',
      description:
        "Zipkin collector (host:port) every sidecar and the gateway report spans to (their --zipkin-address, Istio's global.tracer.zipkin.address); empty: no tracing.",
    },
    logLevel: { kind: 'string', default: 'info', description: 'LOG_LEVEL passed to every process.' },
    supervise: {
      kind: 'bool',
      default: false,
      description: 'Internal: run as the background supervisor started by `up -d`.',
    },
  },
  'tsmesh up [flags]',
);
