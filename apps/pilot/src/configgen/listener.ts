/**
 * Sidecar LDS (Istio 1.0 `listener.go`): outbound `0.0.0.0_<port>` HTTP
 * listeners using RDS `"<port>"`, outbound TCP `<VIP>_<port>` listeners,
 * inbound `<podIP>_<port>` listeners for the proxy's own workload with an
 * inline route config, the `virtual` capture listener on 15001 and the
 * optional `127.0.0.1_<proxyHttpPort>` explicit HTTP proxy listener (or, when that port is
 * 15001 itself, an HTTP proxy filter chain on `virtual` for connections addressed to it).
 * HTTP filters: plugin slots (authn, rbac, mixer), then cors, fault, router last.
 */
import type { Proxy } from '../model/proxy';
import { sidecarScope, type SidecarScope } from '../model/sidecar-scope';
import { cached, type PushContext } from '../model/push-context';
import { isHttpProtocol, type Service, type ServicePort } from '../model/types';
import { proxyInstances } from './cluster';
import {
  BLACKHOLE_CLUSTER,
  dur,
  FILTER_NAME,
  FILTER_TYPE,
  inboundClusterName,
  listenerName,
  PASSTHROUGH_CLUSTER,
  socketAddress,
  wrap,
  type Msg,
} from './names';
import type { PluginRegistry, ListenerInput } from './plugins';
import {
  appendFallthrough,
  isTlsProtocol,
  l4UsesSourceLabels,
  mergeChains,
  tcpFilterChains,
  tcpProxy,
  tlsFilterChains,
  withDestinationCidr,
} from './tcp-route';
import { httpPorts } from './virtual-host';

export function adsConfigSource(): Msg {
  return { ads: {}, resource_api_version: 'V3' };
}

/** Istio 1.0 order: plugin filters, then envoy cors, fault, router (router last). */
export function httpFilters(plugins: PluginRegistry | undefined, input: ListenerInput): Msg[] {
  return [
    ...(plugins ? plugins.httpFilters(input) : []),
    { name: FILTER_NAME.cors, typed_config: { '@type': FILTER_TYPE.cors } },
    { name: FILTER_NAME.fault, typed_config: { '@type': FILTER_TYPE.fault } },
    { name: FILTER_NAME.router, typed_config: { '@type': FILTER_TYPE.router } },
  ];
}

export function hcm(statPrefix: string, routeSpec: Msg, filters: Msg[], extra: Msg = {}): Msg {
  return {
    name: FILTER_NAME.hcm,
    typed_config: {
      '@type': FILTER_TYPE.hcm,
      stat_prefix: statPrefix,
      ...routeSpec,
      http_filters: filters,
      generate_request_id: wrap(true),
      use_remote_address: wrap(false),
      ...extra,
    },
  };
}

export { tcpProxy } from './tcp-route';

function outboundHttpListener(proxy: Proxy, ctx: PushContext, port: number, plugins?: PluginRegistry): Msg {
  const name = listenerName('0.0.0.0', port);
  const sp: ServicePort = { name: `http-${port}`, port, protocol: 'HTTP' };
  const filters = httpFilters(plugins, { proxy, ctx, port: sp, direction: 'outbound' });
  // Identical for every proxy whose plugin filters are identical: build (and encode) once per push.
  return cached(ctx, `lds-out|${port}|${JSON.stringify(filters)}`, () => ({
    name,
    address: socketAddress('0.0.0.0', port),
    bind_to_port: wrap(false),
    traffic_direction: 'OUTBOUND',
    filter_chains: [
      {
        filters: [hcm(name, { rds: { config_source: adsConfigSource(), route_config_name: String(port) } }, filters)],
      },
    ],
  }));
}

function outboundTcpListeners(proxy: Proxy, ctx: PushContext, taken: Set<number>, scope: SidecarScope): Msg[] {
  // Chains depend on the proxy only through tcp/tls `sourceLabels` matches.
  const labelsKey = l4UsesSourceLabels(ctx) ? JSON.stringify(proxy.labels) : '';
  return cached(ctx, `lds-tcp|${scope.key}|${labelsKey}`, () => outboundTcpListenersUncached(proxy, ctx, taken, scope));
}

/**
 * `<VIP>_<port>` per TCP/TLS service port (`0.0.0.0_<port>` without a VIP, shared: the chains of every service on
 * it are merged, first claim of a match wins). A ServiceEntry listens on each of its `addresses`: a plain IP is its
 * own listener, a CIDR joins `0.0.0.0_<port>` with its chains matching the range (`prefix_ranges`), as Istio's
 * `destinationCIDR`. TLS ports match on SNI, so their listeners get the tls_inspector. Listeners without a match-all
 * chain end with the outbound-policy fallthrough.
 */
function outboundTcpListenersUncached(proxy: Proxy, ctx: PushContext, taken: Set<number>, scope: SidecarScope): Msg[] {
  const out = new Map<string, Msg>();
  for (const svc of scope.services) {
    for (const p of svc.ports) {
      if (isHttpProtocol(p.protocol) || p.protocol === 'UDP' || taken.has(p.port)) continue;
      for (const bind of svc.addresses ?? [svc.address]) addTcpListener(out, proxy, ctx, svc, p, bind);
    }
  }
  for (const l of out.values()) {
    appendFallthrough(l['filter_chains'] as Msg[], ctx);
    if ((l['filter_chains'] as Msg[]).some((c) => (c['filter_chain_match'] as Msg | undefined)?.['server_names']))
      l['listener_filters'] = [
        { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': FILTER_TYPE.tlsInspector } },
      ];
  }
  return [...out.values()];
}

function addTcpListener(
  out: Map<string, Msg>,
  proxy: Proxy,
  ctx: PushContext,
  svc: Service,
  p: ServicePort,
  bind: string,
): void {
  const cidr = bind.includes('/') ? bind : undefined;
  const ip = cidr ? '0.0.0.0' : bind;
  const name = listenerName(ip, p.port);
  const chains = isTlsProtocol(p.protocol)
    ? tlsFilterChains(proxy, ctx, svc, p.port, ip === '0.0.0.0' && !cidr)
    : tcpFilterChains(proxy, ctx, svc, p.port);
  let listener = out.get(name);
  if (!listener) {
    listener = {
      name,
      address: socketAddress(ip, p.port),
      bind_to_port: wrap(false),
      traffic_direction: 'OUTBOUND',
      filter_chains: [],
    };
    out.set(name, listener);
  }
  mergeChains(listener['filter_chains'] as Msg[], cidr ? withDestinationCidr(chains, cidr) : chains);
}

/**
 * Outbound TCP listeners (shared, cached per push) with the plugins' per-proxy network filters put
 * before each chain's tcp_proxy, the destination service taken from the chain's cluster
 * (`outbound|<port>|<subset>|<host>`, the first of weighted clusters). New objects; the cache is not touched.
 */
function withTcpFilters(listeners: Msg[], proxy: Proxy, ctx: PushContext, plugins?: PluginRegistry): Msg[] {
  if (!plugins) return listeners;
  return listeners.map((l) => ({
    ...l,
    filter_chains: (l['filter_chains'] as Msg[]).map((c) => {
      const filters = c['filters'] as Msg[];
      const tcp = filters[filters.length - 1]?.['typed_config'] as Msg | undefined;
      const weighted = ((tcp?.['weighted_clusters'] as Msg | undefined)?.['clusters'] as Msg[] | undefined) ?? [];
      const cluster = String(tcp?.['cluster'] ?? weighted[0]?.['name'] ?? '');
      const [, port, , host] = cluster.split('|');
      const service = host ? ctx.servicesByHost.get(host) : undefined;
      const sp: ServicePort = service?.ports.find((p) => p.port === Number(port)) ?? {
        name: `tcp-${port}`,
        port: Number(port) || 0,
        protocol: 'TCP',
      };
      const extra = plugins.tcpFilters({ proxy, ctx, service, port: sp, direction: 'outbound' });
      return extra.length > 0 ? { ...c, filters: [...extra, ...filters] } : c;
    }),
  }));
}

function inboundListeners(proxy: Proxy, ctx: PushContext, plugins?: PluginRegistry): Msg[] {
  const out = new Map<string, Msg>();
  for (const e of proxyInstances(proxy, ctx)) {
    const name = listenerName(e.address, e.port);
    if (out.has(name)) continue;
    const svc = ctx.servicesByHost.get(e.hostname);
    const sp = svc?.ports.find((p) => p.port === e.servicePort);
    if (!svc || !sp) continue;
    const cluster = inboundClusterName(e.servicePort, e.hostname);
    const input: ListenerInput = { proxy, ctx, service: svc, port: sp, direction: 'inbound' };
    const chain: Msg = {};
    if (isHttpProtocol(sp.protocol)) {
      const routeName = `inbound|http|${e.port}`;
      const routeConfig = {
        name: routeName,
        virtual_hosts: [
          {
            name: routeName,
            domains: ['*'],
            routes: [
              {
                match: { prefix: '/' },
                route: { cluster, timeout: dur(0) },
                decorator: { operation: `${e.hostname}:${e.servicePort}/*` },
              },
            ],
          },
        ],
        validate_clusters: wrap(false),
      };
      chain['filters'] = [hcm(cluster, { route_config: routeConfig }, httpFilters(plugins, input))];
    } else chain['filters'] = [...(plugins ? plugins.tcpFilters(input) : []), tcpProxy(cluster)];
    const listener: Msg = {
      name,
      address: socketAddress(e.address, e.port),
      bind_to_port: wrap(false),
      traffic_direction: 'INBOUND',
      filter_chains: [chain],
    };
    const plan = plugins?.inboundChainPlan(input);
    if (plan) {
      listener['filter_chains'] = plan.chains.map((c) => ({ ...c, filters: chain['filters'] }));
      if (plan.listenerFilters.length > 0) listener['listener_filters'] = plan.listenerFilters;
    } else {
      const ts = plugins?.inboundTransportSocket(input);
      if (ts) chain['transport_socket'] = ts;
    }
    out.set(name, listener);
  }
  return [...out.values()];
}

/**
 * The capture listener. Its own chains (passthrough, the app's HTTP proxy) carry only the pod's
 * outbound calls, hence OUTBOUND: the proxy makes CLIENT spans there, as Envoy does on Istio's
 * virtualOutbound (inbound connections it hands on are traced by the `<podIP>_<port>` listener).
 */
function virtualListener(ctx: PushContext): Msg {
  const allow = ctx.mesh.outboundTrafficPolicy === 'ALLOW_ANY';
  return cached(ctx, 'lds-virtual', () => ({
    name: 'virtual',
    address: socketAddress('0.0.0.0', ctx.mesh.proxyListenPort),
    use_original_dst: wrap(true),
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [tcpProxy(allow ? PASSTHROUGH_CLUSTER : BLACKHOLE_CLUSTER)] }],
  }));
}

/** HTTP connection manager of the explicit HTTP proxy: RDS `http_proxy`, absolute-form URIs accepted. */
function httpProxyHcm(statPrefix: string, port: number, proxy: Proxy, ctx: PushContext, plugins?: PluginRegistry): Msg {
  const sp: ServicePort = { name: 'http-proxy', port, protocol: 'HTTP' };
  return hcm(
    statPrefix,
    { rds: { config_source: adsConfigSource(), route_config_name: 'http_proxy' } },
    httpFilters(plugins, { proxy, ctx, port: sp, direction: 'outbound' }),
    { http_protocol_options: { allow_absolute_url: wrap(true) }, upgrade_configs: [{ upgrade_type: 'CONNECT' }] },
  );
}

/** Port of the explicit HTTP proxy listener for this proxy (mesh proxyHttpPort or node metadata HTTP_PROXY_PORT). */
export function httpProxyPort(proxy: Proxy, ctx: PushContext): number {
  const meta = Number(proxy.metadata['HTTP_PROXY_PORT'] ?? 0);
  return meta > 0 ? meta : ctx.mesh.proxyHttpPort;
}

export function buildSidecarListeners(proxy: Proxy, ctx: PushContext, plugins?: PluginRegistry): Msg[] {
  const scope = sidecarScope(proxy, ctx);
  const ports = httpPorts(ctx, scope);
  const out: Msg[] = ports.map((p) => outboundHttpListener(proxy, ctx, p, plugins));
  out.push(...withTcpFilters(outboundTcpListeners(proxy, ctx, new Set(ports), scope), proxy, ctx, plugins));
  out.push(...inboundListeners(proxy, ctx, plugins));
  const hp = httpProxyPort(proxy, ctx);
  if (hp > 0 && hp === ctx.mesh.proxyListenPort) {
    // The app's HTTP proxy is the capture port itself (local mode, one address per pod): a connection
    // addressed to 15001 (not redirected there from elsewhere) gets the http_proxy chain; the rest
    // keeps the passthrough chain.
    const virtual = virtualListener(ctx);
    out.push({
      ...virtual,
      filter_chains: [
        {
          filter_chain_match: { destination_port: wrap(hp) },
          filters: [httpProxyHcm('virtual', hp, proxy, ctx, plugins)],
        },
        ...(virtual['filter_chains'] as Msg[]),
      ],
    });
    return out;
  }
  out.push(virtualListener(ctx));
  if (hp > 0) {
    const name = listenerName('127.0.0.1', hp);
    out.push({
      name,
      address: socketAddress('127.0.0.1', hp),
      traffic_direction: 'OUTBOUND',
      filter_chains: [{ filters: [httpProxyHcm(name, hp, proxy, ctx, plugins)] }],
    });
  }
  return out;
}

/** Route config names the sidecar's listeners reference. */
export function sidecarRouteNames(proxy: Proxy, ctx: PushContext): string[] {
  const names = httpPorts(ctx, sidecarScope(proxy, ctx)).map(String);
  if (httpProxyPort(proxy, ctx) > 0) names.push('http_proxy');
  return names;
}
