/**
 * CDS: outbound clusters per service port and DestinationRule subset, inbound
 * clusters for the proxy's own workload, and the special clusters (Istio 1.0
 * `cluster.go` buildOutboundClusters / buildInboundClusters).
 */
import type { Proxy } from '../model/proxy';
import { sidecarScope, type SidecarScope } from '../model/sidecar-scope';
import { cached, destinationRuleFor, identity, stable, type PushContext } from '../model/push-context';
import { isHttp2Protocol, type Endpoint, type Service, type ServicePort } from '../model/types';
import {
  wrap,
  BLACKHOLE_CLUSTER,
  dur,
  inboundClusterName,
  outboundClusterName,
  PASSTHROUGH_CLUSTER,
  socketAddress,
  type Msg,
} from './names';
import type { PluginRegistry } from './plugins';
import { applyTrafficPolicy, effectivePolicy, shouldH2Upgrade, upstreamTlsSocket } from './traffic-policy';

/** EDS cluster config pointing at ADS. */
export function edsConfig(serviceName: string): Msg {
  return { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: serviceName };
}

/** SPIFFE identities of a service's endpoints (ISTIO_MUTUAL SAN verification). */
export function spiffeIdentities(ctx: PushContext, svc: Service): string[] {
  const eps = ctx.endpoints.get(svc.hostname) ?? [];
  const out = new Set<string>();
  for (const e of eps)
    if (e.serviceAccount)
      out.add(`spiffe://${ctx.mesh.trustDomain}/ns/${e.namespace ?? svc.namespace}/sa/${e.serviceAccount}`);
  return [...out].sort();
}

function dnsLoadAssignment(name: string, eps: Endpoint[]): Msg {
  return {
    cluster_name: name,
    endpoints: [
      {
        lb_endpoints: eps.map((e) => ({ endpoint: { address: socketAddress(e.address, e.port) } })),
      },
    ],
  };
}

function baseCluster(ctx: PushContext, svc: Service, port: ServicePort, subset: string, grpc: boolean): Msg {
  const name = outboundClusterName(port.port, subset, svc.hostname);
  const c: Msg = { name, connect_timeout: dur(ctx.mesh.connectTimeoutMs), lb_policy: 'ROUND_ROBIN' };
  if (svc.resolution === 'DNS' && !grpc) {
    c['type'] = 'STRICT_DNS';
    c['dns_lookup_family'] = 'V4_ONLY';
    const eps = (ctx.endpoints.get(svc.hostname) ?? []).filter((e) => e.servicePort === port.port);
    c['load_assignment'] = dnsLoadAssignment(name, eps);
  } else if (svc.resolution === 'NONE' && !grpc) {
    c['type'] = 'ORIGINAL_DST';
    c['lb_policy'] = 'CLUSTER_PROVIDED';
  } else {
    c['type'] = 'EDS';
    c['eds_cluster_config'] = edsConfig(name);
  }
  if (isHttp2Protocol(port.protocol) && !grpc)
    c['http2_protocol_options'] = { max_concurrent_streams: wrap(1073741824) };
  const dr = destinationRuleFor(ctx, svc.hostname);
  const policy = effectivePolicy(dr, port.port, subset);
  // h2UpgradePolicy: an HTTP/1.1 port's cluster speaks HTTP/2 to the server sidecar (whose inbound
  // listener takes either and hands the app what its port is declared as).
  if (!grpc && shouldH2Upgrade(port.protocol, policy, ctx.mesh.h2UpgradePolicy))
    c['http2_protocol_options'] = { max_concurrent_streams: wrap(1073741824) };
  applyTrafficPolicy(c, policy, { grpc });
  if (!grpc) {
    // ALPN `istio`+`h2` for every cluster that speaks HTTP/2, upgraded ones included (as Istio).
    const ts = upstreamTlsSocket(
      policy.tls,
      name,
      spiffeIdentities(ctx, svc),
      c['http2_protocol_options'] !== undefined,
    );
    if (ts) c['transport_socket'] = ts;
  }
  return c;
}

/** Subset names declared for a host by its DestinationRule. */
export function subsetNames(ctx: PushContext, host: string): string[] {
  const dr = destinationRuleFor(ctx, host);
  const subsets = dr?.spec['subsets'];
  return Array.isArray(subsets) ? subsets.map((s) => String((s as Msg)['name'])) : [];
}

/** Outbound clusters of one service (cached per push; shared by all proxies). */
export function serviceClusters(ctx: PushContext, svc: Service, grpc: boolean): Msg[] {
  const fp = () =>
    JSON.stringify([
      svc,
      destinationRuleFor(ctx, svc.hostname)?.spec,
      svc.resolution === 'DNS' ? ctx.endpoints.get(svc.hostname) : spiffeIdentities(ctx, svc),
      ctx.mesh,
    ]);
  return stable(ctx, `cds|${grpc ? 'grpc' : 'envoy'}|${svc.hostname}`, fp, () => {
    const out: Msg[] = [];
    for (const port of svc.ports) {
      if (port.protocol === 'UDP') continue;
      if (grpc && svc.resolution === 'NONE') continue;
      out.push(baseCluster(ctx, svc, port, '', grpc));
      for (const subset of subsetNames(ctx, svc.hostname)) out.push(baseCluster(ctx, svc, port, subset, grpc));
    }
    return out;
  });
}

/** Endpoints of the proxy's own workload (its instance IPs). */
export function proxyInstances(proxy: Proxy, ctx: PushContext): Endpoint[] {
  const byIp = cached(ctx, 'endpoints-by-ip', () => {
    const m = new Map<string, Endpoint[]>();
    for (const eps of ctx.endpoints.values())
      for (const e of eps) {
        const l = m.get(e.address);
        if (l) l.push(e);
        else m.set(e.address, [e]);
      }
    return m;
  });
  const out: Endpoint[] = [];
  for (const ip of new Set(proxy.ips)) out.push(...(byIp.get(ip) ?? []));
  return out;
}

export function inboundClusters(proxy: Proxy, ctx: PushContext): Msg[] {
  const built = inboundClustersUncached(proxy, ctx);
  // Same objects as last push when unchanged, so the xDS server can tell at a glance.
  return stable(
    ctx,
    `inbound|${proxy.id}`,
    () => JSON.stringify(built),
    () => built,
  );
}

function inboundClustersUncached(proxy: Proxy, ctx: PushContext): Msg[] {
  const seen = new Map<string, Msg>();
  for (const e of proxyInstances(proxy, ctx)) {
    const name = inboundClusterName(e.servicePort, e.hostname);
    if (seen.has(name)) continue;
    const svc = ctx.servicesByHost.get(e.hostname);
    const port = svc?.ports.find((p) => p.port === e.servicePort);
    const c: Msg = {
      name,
      type: 'STATIC',
      connect_timeout: dur(ctx.mesh.connectTimeoutMs),
      lb_policy: 'ROUND_ROBIN',
      load_assignment: {
        cluster_name: name,
        endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress('127.0.0.1', e.port) } }] }],
      },
    };
    if (port && isHttp2Protocol(port.protocol))
      c['http2_protocol_options'] = { max_concurrent_streams: wrap(1073741824) };
    seen.set(name, c);
  }
  return [...seen.values()];
}

/** Mixer servers named by the mesh config (`host:port`) that no registry service provides: a STRICT_DNS HTTP/2 cluster each. */
export function mixerClusters(ctx: PushContext): Msg[] {
  const out: Msg[] = [];
  for (const server of new Set([ctx.mesh.mixerCheckServer, ctx.mesh.mixerReportServer])) {
    if (!server) continue;
    const i = server.lastIndexOf(':');
    const host = i < 0 ? server : server.slice(0, i);
    const port = i < 0 ? 9091 : Number(server.slice(i + 1));
    if (ctx.servicesByHost.get(host)?.ports.some((p) => p.port === port)) continue;
    const name = outboundClusterName(port, '', host);
    out.push({
      name,
      type: 'STRICT_DNS',
      connect_timeout: dur(ctx.mesh.connectTimeoutMs),
      lb_policy: 'ROUND_ROBIN',
      http2_protocol_options: { max_concurrent_streams: wrap(1073741824) },
      load_assignment: dnsLoadAssignment(name, [
        { hostname: host, servicePort: port, address: host, port, labels: {} },
      ]),
    });
  }
  return out;
}

export function specialClusters(ctx: PushContext): Msg[] {
  return cached(ctx, 'special', () => {
    const built = specialClustersUncached(ctx);
    return stable(
      ctx,
      'special-stable',
      () => JSON.stringify(built),
      () => built,
    );
  });
}

function specialClustersUncached(ctx: PushContext): Msg[] {
  return [
    ...mixerClusters(ctx),
    { name: BLACKHOLE_CLUSTER, type: 'STATIC', connect_timeout: dur(ctx.mesh.connectTimeoutMs) },
    {
      name: PASSTHROUGH_CLUSTER,
      type: 'ORIGINAL_DST',
      lb_policy: 'CLUSTER_PROVIDED',
      connect_timeout: dur(ctx.mesh.connectTimeoutMs),
    },
  ];
}

/** Every service's outbound clusters, one list per push shared by all proxies. */
function allServiceClusters(ctx: PushContext, grpc: boolean, scope: SidecarScope): Msg[] {
  return cached(ctx, `cds-all|${grpc}|${scope.key}`, () => {
    const parts = scope.services.map((s) => serviceClusters(ctx, s, grpc));
    // The same list object as the previous push when every per-service part was reused.
    return stable(
      ctx,
      `cds-all-stable|${grpc}|${scope.key}`,
      () => parts.map(identity).join(','),
      () => parts.flat(),
    );
  });
}

/** Full CDS for a proxy. */
export function buildClusters(proxy: Proxy, ctx: PushContext, plugins?: PluginRegistry): Msg[] {
  const grpc = proxy.generator === 'grpc';
  const hooks = !!plugins && plugins.list().some((p) => p.onOutboundCluster);
  const scope = sidecarScope(proxy, ctx);
  const out: Msg[] = hooks ? [] : [...allServiceClusters(ctx, grpc, scope)];
  for (const svc of hooks ? scope.services : []) {
    const base = serviceClusters(ctx, svc, grpc);
    if (plugins && plugins.list().some((p) => p.onOutboundCluster)) {
      const dr = destinationRuleFor(ctx, svc.hostname);
      for (const c of base) {
        const copy = { ...c };
        const [, port, subset] = String(c['name']).split('|');
        const sp = svc.ports.find((p) => p.port === Number(port)) as ServicePort;
        const pol = effectivePolicy(dr, sp.port, subset);
        plugins.onOutboundCluster(copy, { proxy, ctx, service: svc, port: sp, subset, hasExplicitTls: !!pol.tls });
        out.push(copy);
      }
    } else out.push(...base);
  }
  if (!grpc) {
    if (proxy.type === 'sidecar') out.push(...inboundClusters(proxy, ctx));
    out.push(...specialClusters(ctx));
  }
  return out;
}
