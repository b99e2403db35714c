/**
 * The MeshConfig the launcher gives Pilot (`--mesh-config`) when Mixer runs: Istio 1.0's
 * `mixerCheckServer` / `mixerReportServer` naming the istio-policy and istio-telemetry Services
 * (their Endpoints, in the registry, point at the local Mixer processes), policy checks on and
 * fail-closed (`policyCheckFailOpen: false`), as Istio 1.0's default install.
 */
import { stringify } from 'yaml';
import { fqdn, servicesOf, type PodSpec, type Topology } from './topology';

/** `<service fqdn>:<port>` of the Service selecting `pod` that serves `port` (Mixer's gRPC 9091). */
export function serviceAddress(t: Topology, pod: PodSpec | undefined, port = 9091): string | undefined {
  if (!pod) return undefined;
  const svc = servicesOf(t, pod).find((s) => s.ports.some((p) => p.port === port));
  return svc ? `${fqdn(svc)}:${port}` : undefined;
}

export interface MixerServers {
  check?: string;
  report?: string;
}

/** MeshConfig YAML (the `mesh` of Istio's ConfigMap) for a mesh with Mixer. */
export function mixerMeshConfig(servers: MixerServers): string {
  const mesh: Record<string, unknown> = {
    ...(servers.check ? { mixerCheckServer: servers.check } : {}),
    ...(servers.report ? { mixerReportServer: servers.report } : {}),
    disablePolicyChecks: !servers.check,
    policyCheckFailOpen: false,
  };
  return `# Written by tsmesh up: Pilot's --mesh-config (Istio MeshConfig). Regenerated at every start.\n${stringify(mesh)}`;
}
