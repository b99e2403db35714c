/**
 * EDS: ClusterLoadAssignment per outbound cluster, endpoints filtered by the
 * subset's labels, grouped by locality with a weight per locality (grpc-js-xds
 * drops localities without `load_balancing_weight`).
 */
import { destinationRuleFor, stable, type PushContext } from '../model/push-context';
import { labelsMatch, type Endpoint } from '../model/types';
import { parseClusterName, socketAddress, wrap, type Msg } from './names';
import { subsetOf } from './traffic-policy';

function localityKey(e: Endpoint): string {
  return `${e.locality?.region ?? ''}/${e.locality?.zone ?? ''}/${e.locality?.sub_zone ?? ''}`;
}

/** The endpoints a cluster name selects (service port + subset labels). */
export function clusterEndpoints(ctx: PushContext, clusterName: string): Endpoint[] | undefined {
  const parsed = parseClusterName(clusterName);
  if (!parsed || parsed.direction !== 'outbound') return undefined;
  const svc = ctx.servicesByHost.get(parsed.host);
  if (!svc) return undefined;
  let labels: Record<string, string> | undefined;
  if (parsed.subset) {
    const ss = subsetOf(destinationRuleFor(ctx, parsed.host), parsed.subset);
    if (!ss) return undefined;
    labels = (ss['labels'] as Record<string, string> | undefined) ?? {};
  }
  return (ctx.endpoints.get(parsed.host) ?? []).filter(
    (e) => e.servicePort === parsed.port && labelsMatch(labels, e.labels),
  );
}

/** ClusterLoadAssignment for `clusterName` (cached per push); undefined for a cluster Pilot does not know. */
// Per push, keyed by the cluster name itself: the names come from each proxy's subscription (the same string
// objects push after push), so lookups skip building and hashing a composite key (1,000s per proxy per push).
const perPush = new WeakMap<PushContext, Map<string, Msg | undefined>>();

export function buildLoadAssignment(ctx: PushContext, clusterName: string): Msg | undefined {
  let memo = perPush.get(ctx);
  if (!memo) {
    memo = new Map();
    perPush.set(ctx, memo);
  }
  if (memo.has(clusterName)) return memo.get(clusterName);
  const cla = buildLoadAssignmentUncached(ctx, clusterName);
  memo.set(clusterName, cla);
  return cla;
}

function buildLoadAssignmentUncached(ctx: PushContext, clusterName: string): Msg | undefined {
  const resolved = clusterEndpoints(ctx, clusterName);
  if (!resolved) return undefined;
  return stable(
    ctx,
    `eds-stable|${clusterName}`,
    () => JSON.stringify(resolved),
    () => loadAssignment(clusterName, resolved),
  );
}

function loadAssignment(clusterName: string, resolved: Endpoint[]): Msg {
  {
    const eps = resolved;
    const groups = new Map<string, Endpoint[]>();
    for (const e of eps) {
      const k = localityKey(e);
      const g = groups.get(k);
      if (g) g.push(e);
      else groups.set(k, [e]);
    }
    const endpoints: Msg[] = [];
    for (const [, g] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const loc = g[0].locality ?? {};
      let weight = 0;
      const lb = g.map((e) => {
        const w = e.weight ?? 1;
        weight += w;
        return {
          endpoint: { address: socketAddress(e.address, e.port) },
          health_status: 'HEALTHY',
          load_balancing_weight: wrap(w),
        };
      });
      endpoints.push({
        locality: { region: loc.region ?? '', zone: loc.zone ?? '', sub_zone: loc.sub_zone ?? '' },
        lb_endpoints: lb,
        load_balancing_weight: wrap(weight),
      });
    }
    return { cluster_name: clusterName, endpoints };
  }
}

/** Names of every EDS cluster a proxy's CDS contains. */
export function edsClusterNames(clusters: readonly Msg[]): string[] {
  return clusters.filter((c) => c['type'] === 'EDS').map((c) => String(c['name']));
}
