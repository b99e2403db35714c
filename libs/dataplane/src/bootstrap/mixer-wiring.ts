/**
 * The proxy's Mixer client wiring: Pilot names Mixer by cluster
 * (`outbound|9091||istio-policy.istio-system.svc.cluster.local`); the address comes from that
 * cluster's hosts in the running engine (its EDS endpoints), as Envoy's async gRPC client uses
 * the cluster manager. Locally the Kubernetes hostname does not resolve, so DNS is only the
 * fallback when the cluster is unknown or has no hosts.
 */
import type { Dataplane } from '../engine/dataplane';
import { defaultResolveCluster, mixerFilterWith } from '../filters/http/mixer';
import { tcpMixerFilterWith } from '../filters/network/mixer';

/** check_cluster / report_cluster → `host:port`: a healthy host of that cluster, else any host, else the name. */
export function clusterResolver(dataplane: Pick<Dataplane, 'cluster'>): (name: string) => string | undefined {
  return (name) => {
    const hosts = dataplane.cluster(name)?.hosts ?? [];
    const host = hosts.find((h) => h.healthy) ?? hosts[0];
    return host ? host.key : defaultResolveCluster(name);
  };
}

/** The `mixer` filter factory bound to the engine's clusters; `handle.close()` on stop. */
export function proxyMixerFilter(dataplane: Pick<Dataplane, 'cluster'>): ReturnType<typeof mixerFilterWith> {
  return mixerFilterWith({ resolveCluster: clusterResolver(dataplane) });
}

/** The TCP (network) `mixer` filter bound to the engine's clusters; `handle.close()` on stop. */
export function proxyTcpMixerFilter(dataplane: Pick<Dataplane, 'cluster'>): ReturnType<typeof tcpMixerFilterWith> {
  return tcpMixerFilterWith({ resolveCluster: clusterResolver(dataplane) });
}
