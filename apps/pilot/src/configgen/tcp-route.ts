/**
 * Sidecar outbound filter chains for TCP and TLS service ports from VirtualService `tcp` and `tls` routes
 * (Istio `networking/core/v1alpha3` buildSidecarOutboundTCPFilterChainOpts / buildSidecarOutboundTLSFilterChainOpts).
 *
 * Static predicates (`port`, `sourceLabels`, `gateways`) are evaluated here for the proxy; runtime predicates become
 * `filter_chain_match`: `sniHosts` → `server_names`, `destinationSubnets` → `prefix_ranges`.
 */
import type { Proxy } from '../model/proxy';
import type { ConfigRef, PushContext } from '../model/push-context';
import { labelsMatch, type Service, type ServicePort } from '../model/types';
import { destinationCluster } from './http-route';
import { BLACKHOLE_CLUSTER, FILTER_NAME, FILTER_TYPE, PASSTHROUGH_CLUSTER, type Msg } from './names';
import { virtualServicesFor } from './virtual-host';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const arr = <T = Obj>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

/** Ports whose outbound traffic is TLS (Istio `Protocol.IsTLS`): the listener matches on SNI. */
export function isTlsProtocol(p: ServicePort['protocol']): boolean {
  return p === 'HTTPS' || p === 'TLS';
}

export function tcpProxy(cluster: string): Msg {
  return { name: FILTER_NAME.tcpProxy, typed_config: { '@type': FILTER_TYPE.tcpProxy, stat_prefix: cluster, cluster } };
}

/** `tcp_proxy` for an Istio RouteDestination list: one destination → `cluster`, several → `weighted_clusters`. */
export function tcpProxyFor(ctx: PushContext, vs: ConfigRef, routes: unknown, port: number, statPrefix: string): Msg {
  const scope = { proxy: undefined as never, ctx, port, gateways: ['mesh'] };
  const weighted = arr(routes)
    .filter((d) => isObj(d['destination']))
    .map((d) => ({ name: destinationCluster(scope, vs, d['destination'] as Obj), weight: Number(d['weight'] ?? 0) }))
    .filter((w, _i, all) => all.length === 1 || w.weight > 0);
  if (weighted.length === 0) return tcpProxy(statPrefix);
  if (weighted.length === 1) return tcpProxy(weighted[0].name);
  return {
    name: FILTER_NAME.tcpProxy,
    typed_config: { '@type': FILTER_TYPE.tcpProxy, stat_prefix: statPrefix, weighted_clusters: { clusters: weighted } },
  };
}

/** Istio `matchTCP`/`matchTLS` static part: port, source labels, and `gateways` (a sidecar is the `mesh` gateway). */
export function staticMatch(m: Obj, proxy: Proxy | undefined, port: number, gateways: readonly string[]): boolean {
  if (typeof m['port'] === 'number' && m['port'] !== 0 && m['port'] !== port) return false;
  if (isObj(m['sourceLabels']) && !labelsMatch(m['sourceLabels'] as Record<string, string>, proxy?.labels ?? {}))
    return false;
  const gws = arr<string>(m['gateways']);
  if (gws.length > 0 && !gws.some((g) => gateways.includes(g))) return false;
  return true;
}

/** Envoy CidrRange from `10.0.0.0/8` or a bare address (a /32 or /128). */
export function cidrRange(s: string): Msg {
  const [address, len] = s.split('/');
  const full = address.includes(':') ? 128 : 32;
  return { address_prefix: address, prefix_len: { value: len === undefined ? full : Number(len) } };
}

function chain(match: Msg, filter: Msg): Msg {
  return Object.keys(match).length > 0 ? { filter_chain_match: match, filters: [filter] } : { filters: [filter] };
}

/** Whether any mesh VirtualService's tcp/tls match reads the client's labels (then chains are per proxy). */
export function l4UsesSourceLabels(ctx: PushContext): boolean {
  return ctx.virtualServices.some((vs) =>
    ['tcp', 'tls'].some((k) => arr(vs.spec[k]).some((r) => arr(r['match']).some((m) => isObj(m['sourceLabels'])))),
  );
}

/**
 * Filter chains of a TCP service port (Istio's TCP loop): a route without matches, or a match without
 * `destinationSubnets`, is the terminal catch-all; matches with subnets give `prefix_ranges` chains before it;
 * without a terminal route the service's default cluster is the catch-all.
 */
export function tcpFilterChains(proxy: Proxy | undefined, ctx: PushContext, svc: Service, port: number): Msg[] {
  const fallback = `outbound|${port}||${svc.hostname}`;
  const out: Msg[] = [];
  for (const vs of virtualServicesFor(ctx, svc.hostname))
    for (const r of arr(vs.spec['tcp'])) {
      const matches = arr(r['match']);
      const filter = () => tcpProxyFor(ctx, vs, r['route'], port, fallback);
      if (matches.length === 0) return [...out, chain({}, filter())];
      const subnets: string[] = [];
      for (const m of matches) {
        if (!staticMatch(m, proxy, port, ['mesh'])) continue;
        const s = arr<string>(m['destinationSubnets']);
        if (s.length === 0) return [...out, chain({}, filter())];
        subnets.push(...s);
      }
      if (subnets.length > 0) out.push(chain({ prefix_ranges: [...new Set(subnets)].sort().map(cidrRange) }, filter()));
    }
  return [...out, chain({}, tcpProxy(fallback))];
}

/**
 * Filter chains of a TLS service port: one per distinct (sniHosts, destinationSubnets) of the tls matches that apply
 * to this proxy (a later match with the same runtime predicates is unreachable and dropped); without any, the service's
 * own cluster, matched by SNI = its host name when the listener has no VIP of its own.
 */
export function tlsFilterChains(
  proxy: Proxy | undefined,
  ctx: PushContext,
  svc: Service,
  port: number,
  wildcardListener: boolean,
): Msg[] {
  const out: Msg[] = [];
  const seen = new Set<string>();
  for (const vs of virtualServicesFor(ctx, svc.hostname))
    for (const r of arr(vs.spec['tls']))
      for (const m of arr(r['match'])) {
        if (!staticMatch(m, proxy, port, ['mesh'])) continue;
        const match: Msg = {};
        const sni = [...new Set(arr<string>(m['sniHosts']))].sort();
        const subnets = [...new Set(arr<string>(m['destinationSubnets']))].sort();
        if (subnets.length > 0) match['prefix_ranges'] = subnets.map(cidrRange);
        if (sni.length > 0) match['server_names'] = sni;
        const key = JSON.stringify(match);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(chain(match, tcpProxyFor(ctx, vs, r['route'], port, `outbound|${port}||${svc.hostname}`)));
      }
  if (out.length > 0) return out;
  const fallback = `outbound|${port}||${svc.hostname}`;
  return [chain(wildcardListener ? { server_names: [svc.hostname] } : {}, tcpProxy(fallback))];
}

/**
 * Chains of a service listening on a CIDR (ServiceEntry `addresses: [10.0.0.0/16]`, Istio's `destinationCIDR`): the
 * listener is `0.0.0.0_<port>` and every chain without its own `destinationSubnets` matches the range.
 */
export function withDestinationCidr(chains: Msg[], cidr: string): Msg[] {
  return chains.map((c) => {
    const match = (c['filter_chain_match'] as Msg | undefined) ?? {};
    if (match['prefix_ranges']) return c;
    return { ...c, filter_chain_match: { prefix_ranges: [cidrRange(cidr)], ...match } };
  });
}

/**
 * Istio 1.3+ `appendListenerFallthroughRoute`: an outbound TCP/TLS listener whose chains all match on something gets a
 * last match-all chain to PassthroughCluster (ALLOW_ANY) or BlackHoleCluster (REGISTRY_ONLY), so a destination or SNI
 * no service claims follows the mesh's outbound policy instead of finding no filter chain.
 */
export function appendFallthrough(chains: Msg[], ctx: PushContext): void {
  const cluster = ctx.mesh.outboundTrafficPolicy === 'ALLOW_ANY' ? PASSTHROUGH_CLUSTER : BLACKHOLE_CLUSTER;
  mergeChains(chains, [{ filters: [tcpProxy(cluster)] }]);
}

/**
 * Appends `add` to `chains` without a second chain for the same match: Envoy rejects a listener where two chains
 * claim the same server name (or both have none) under the same other criteria; the first one wins, as in Istio.
 */
export function mergeChains(chains: Msg[], add: Msg[]): void {
  const taken = new Set<string>();
  const keysOf = (c: Msg): { base: string; names: string[] } => {
    const m = { ...((c['filter_chain_match'] as Msg | undefined) ?? {}) };
    const names = (m['server_names'] as string[] | undefined) ?? [];
    delete m['server_names'];
    return { base: JSON.stringify(m), names };
  };
  for (const c of chains) {
    const { base, names } = keysOf(c);
    for (const n of names.length ? names : ['']) taken.add(`${base}|${n}`);
  }
  for (const c of add) {
    const { base, names } = keysOf(c);
    const free = (names.length ? names : ['']).filter((n) => !taken.has(`${base}|${n}`));
    if (free.length === 0) continue;
    for (const n of free) taken.add(`${base}|${n}`);
    if (names.length === 0 || names.length === free.length) chains.push(c);
    else chains.push({ ...c, filter_chain_match: { ...(c['filter_chain_match'] as Msg), server_names: free } });
  }
}
