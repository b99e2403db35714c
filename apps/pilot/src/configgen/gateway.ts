/**
 * Router-mode (gateway) LDS/RDS from Gateway + bound VirtualServices (Istio 1.0
 * `gateway.go`): one listener `0.0.0.0_<port>` per server port, RDS
 * `http.<port>` for plain HTTP and `https.<port>.<portName>` per TLS server,
 * vhosts `<host>:<port>`, `httpsRedirect` → `require_tls: ALL`, unmatched →
 * `blackhole:<port>`.
 */
import type { Proxy } from '../model/proxy';
import { fqdn, type ConfigRef, type PushContext } from '../model/push-context';
import { labelsMatch, parseProtocol } from '../model/types';
import { buildHttpRoutes } from './http-route';
import { adsConfigSource, hcm, httpFilters, tcpProxy } from './listener';
import { FILTER_NAME, FILTER_TYPE, listenerName, socketAddress, wrap, type Msg } from './names';
import type { PluginRegistry } from './plugins';
import { mergeChains, staticMatch, tcpProxyFor } from './tcp-route';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const arr = <T = Obj>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

export interface GatewayServer {
  gateway: ConfigRef;
  gatewayName: string;
  server: Obj;
  port: number;
  portName: string;
  protocol: string;
  hosts: string[];
  tls?: Obj;
}

/** Gateways whose selector matches this router's labels. */
export function gatewaysFor(proxy: Proxy, ctx: PushContext): ConfigRef[] {
  return ctx.gateways.filter((g) =>
    labelsMatch(g.spec['selector'] as Record<string, string> | undefined, proxy.labels),
  );
}

export function gatewayServers(proxy: Proxy, ctx: PushContext): GatewayServer[] {
  const out: GatewayServer[] = [];
  for (const g of gatewaysFor(proxy, ctx))
    for (const s of arr(g.spec['servers'])) {
      const port = isObj(s['port']) ? s['port'] : {};
      out.push({
        gateway: g,
        gatewayName: `${g.namespace}/${g.name}`,
        server: s,
        port: Number(port['number']),
        portName: String(port['name'] ?? port['number']),
        protocol: String(port['protocol'] ?? 'HTTP').toUpperCase(),
        hosts: arr<string>(s['hosts']).map((h) => (h.includes('/') ? h.split('/')[1] : h)),
        tls: isObj(s['tls']) ? s['tls'] : undefined,
      });
    }
  return out;
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*' || host === '*') return true;
  if (pattern.startsWith('*.'))
    return host.endsWith(pattern.slice(1)) || (host.startsWith('*.') && host.endsWith(pattern.slice(1)));
  if (host.startsWith('*.')) return pattern.endsWith(host.slice(1));
  return pattern === host;
}

function isTlsTerminated(s: GatewayServer): boolean {
  return (
    (s.protocol === 'HTTPS' || s.protocol === 'TLS') &&
    !!s.tls &&
    s.tls['mode'] !== 'PASSTHROUGH' &&
    s.tls['httpsRedirect'] !== true
  );
}

function isHttpServer(s: GatewayServer): boolean {
  const p = parseProtocol(s.protocol);
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || (p === 'HTTPS' && isTlsTerminated(s));
}

/** RouteConfiguration name a server uses. */
export function gatewayRouteName(s: GatewayServer): string {
  return s.protocol === 'HTTPS' && isTlsTerminated(s) ? `https.${s.port}.${s.portName}` : `http.${s.port}`;
}

/** Istio `IsPassThroughServer`'s complement for TCP-level servers: `protocol: TLS` with SIMPLE or MUTUAL. */
function isTlsTerminatedTcp(s: GatewayServer): boolean {
  return s.protocol === 'TLS' && isTlsTerminated(s);
}

/** `alpn` false for TLS-terminated TCP servers: what follows the handshake is not HTTP. */
function downstreamTls(tls: Obj, alpn = true): Msg {
  const common: Msg = {};
  if (typeof tls['credentialName'] === 'string')
    common['tls_certificate_sds_secret_configs'] = [
      { name: tls['credentialName'], sds_config: { ads: {}, resource_api_version: 'V3' } },
    ];
  else
    common['tls_certificates'] = [
      {
        certificate_chain: { filename: String(tls['serverCertificate'] ?? '') },
        private_key: { filename: String(tls['privateKey'] ?? '') },
      },
    ];
  if (typeof tls['credentialName'] === 'string' && tls['mode'] === 'MUTUAL')
    common['validation_context_sds_secret_config'] = {
      name: `${tls['credentialName']}-cacert`,
      sds_config: { ads: {}, resource_api_version: 'V3' },
    };
  else if (typeof tls['caCertificates'] === 'string') {
    const v: Msg = { trusted_ca: { filename: tls['caCertificates'] } };
    const sans = arr<string>(tls['subjectAltNames']);
    if (sans.length) v['match_subject_alt_names'] = sans.map((s) => ({ exact: s }));
    common['validation_context'] = v;
  }
  if (alpn) common['alpn_protocols'] = ['h2', 'http/1.1'];
  return {
    name: FILTER_NAME.tls,
    typed_config: {
      '@type': FILTER_TYPE.downstreamTls,
      common_tls_context: common,
      require_client_certificate: wrap(tls['mode'] === 'MUTUAL'),
    },
  };
}

export function buildGatewayListeners(proxy: Proxy, ctx: PushContext, plugins?: PluginRegistry): Msg[] {
  const byPort = new Map<number, GatewayServer[]>();
  for (const s of gatewayServers(proxy, ctx)) {
    const l = byPort.get(s.port);
    if (l) l.push(s);
    else byPort.set(s.port, [s]);
  }
  const out: Msg[] = [];
  for (const [port, servers] of [...byPort].sort(([a], [b]) => a - b)) {
    const name = listenerName('0.0.0.0', port);
    const chains: Msg[] = [];
    let plainAdded = false;
    for (const s of servers) {
      const input = {
        proxy,
        ctx,
        port: { name: s.portName, port, protocol: parseProtocol(s.protocol) },
        direction: 'inbound' as const,
      };
      if (isHttpServer(s) || (s.protocol === 'HTTPS' && s.tls?.['httpsRedirect'] === true) || s.protocol === 'HTTP') {
        const routeName = gatewayRouteName(s);
        if (!isTlsTerminated(s)) {
          if (plainAdded) continue;
          plainAdded = true;
        }
        const chain: Msg = {
          filters: [
            hcm(
              name,
              { rds: { config_source: adsConfigSource(), route_config_name: routeName } },
              httpFilters(plugins, input),
            ),
          ],
        };
        if (isTlsTerminated(s) && s.tls) {
          chain['filter_chain_match'] = { server_names: s.hosts.filter((h) => h !== '*') };
          chain['transport_socket'] = downstreamTls(s.tls);
        }
        chains.push(chain);
      } else {
        mergeChains(chains, l4Chains(proxy, ctx, s));
      }
    }
    const listener: Msg = {
      name,
      address: socketAddress('0.0.0.0', port),
      filter_chains: chains,
      // As Istio: a gateway's listeners are OUTBOUND (1.0 named its HCMs EGRESS, "from gateway to
      // internal"), so the gateway's trace span is a CLIENT span, the parent of the first SERVER span.
      traffic_direction: 'OUTBOUND',
    };
    if (chains.some((c) => c['filter_chain_match']))
      listener['listener_filters'] = [
        { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': FILTER_TYPE.tlsInspector } },
      ];
    out.push(listener);
  }
  return out;
}

function boundVirtualServices(ctx: PushContext, s: GatewayServer): ConfigRef[] {
  return ctx.virtualServices.filter((vs) =>
    arr<string>(vs.spec['gateways']).some((g) => (g.includes('/') ? g : `${vs.namespace}/${g}`) === s.gatewayName),
  );
}

/** A bound VirtualService match with its `gateways` as `ns/name`, for `staticMatch` against this server. */
function qualified(vs: ConfigRef, m: Obj): Obj {
  const gws = arr<string>(m['gateways']).map((g) => (g.includes('/') ? g : `${vs.namespace}/${g}`));
  return gws.length > 0 ? { ...m, gateways: gws } : m;
}

/** Bound VirtualServices serving one of the server's hosts (Istio `pickMatchingGatewayHosts`). */
function servingVirtualServices(ctx: PushContext, s: GatewayServer): ConfigRef[] {
  return boundVirtualServices(ctx, s).filter((vs) =>
    arr<string>(vs.spec['hosts']).some((h) => s.hosts.some((sh) => hostMatches(sh, h))),
  );
}

/** Istio `buildGatewayNetworkFiltersFromTCPRoutes`: the first `tcp` route that applies to this gateway and port. */
function tcpRouteFilter(proxy: Proxy, ctx: PushContext, s: GatewayServer, statPrefix: string): Msg | undefined {
  for (const vs of servingVirtualServices(ctx, s))
    for (const r of arr(vs.spec['tcp'])) {
      const ms = arr(r['match']);
      if (ms.length > 0 && !ms.some((m) => staticMatch(qualified(vs, m), proxy, s.port, [s.gatewayName]))) continue;
      return tcpProxyFor(ctx, vs, r['route'], s.port, statPrefix);
    }
  return undefined;
}

/**
 * Chains of a TCP or TLS server (Istio `gateway.go` createGatewayTCPFilterChainOpts). TLS-passthrough servers get one
 * chain per `tls` match that applies to this gateway and port, of bound VirtualServices serving one of the server's
 * hosts, its `server_names` the match's `sniHosts` (else the server's hosts). TLS servers with SIMPLE/MUTUAL terminate
 * TLS (server hosts as `server_names`) and, like TCP servers, forward to the first applicable `tcp` route.
 * Nothing bound → BlackHoleCluster.
 */
function l4Chains(proxy: Proxy, ctx: PushContext, s: GatewayServer): Msg[] {
  const serverNames = s.hosts.filter((h) => h !== '*');
  const prefix = `outbound|${s.port}||${s.hosts[0] ?? '*'}`;
  const blackhole: Msg = { filters: [tcpProxy('BlackHoleCluster')] };
  if (s.protocol === 'TLS' && serverNames.length) blackhole['filter_chain_match'] = { server_names: serverNames };
  if (s.protocol !== 'TLS' && s.protocol !== 'HTTPS') {
    const filter = tcpRouteFilter(proxy, ctx, s, prefix);
    return [filter ? { filters: [filter] } : blackhole];
  }
  if (isTlsTerminatedTcp(s) && s.tls) {
    const filter = tcpRouteFilter(proxy, ctx, s, prefix);
    if (!filter) return [blackhole];
    const chain: Msg = { filters: [filter], transport_socket: downstreamTls(s.tls, false) };
    if (serverNames.length) chain['filter_chain_match'] = { server_names: serverNames };
    return [chain];
  }
  const out: Msg[] = [];
  for (const vs of servingVirtualServices(ctx, s))
    for (const r of arr(vs.spec['tls']))
      for (const m of arr(r['match'])) {
        if (!staticMatch(qualified(vs, m), proxy, s.port, [s.gatewayName])) continue;
        const sni = arr<string>(m['sniHosts']);
        const names = sni.length ? sni : serverNames;
        const chain: Msg = { filters: [tcpProxyFor(ctx, vs, r['route'], s.port, prefix)] };
        if (names.length) chain['filter_chain_match'] = { server_names: names };
        mergeChains(out, [chain]);
      }
  return out.length > 0 ? out : [blackhole];
}

/** RDS for a gateway route name (`http.80`, `https.443.https`). */
export function gatewayRouteConfig(proxy: Proxy, ctx: PushContext, routeName: string): Msg | undefined {
  const servers = gatewayServers(proxy, ctx).filter((s) => gatewayRouteName(s) === routeName);
  if (servers.length === 0) return undefined;
  const port = servers[0].port;
  const vhosts = new Map<string, Msg>();
  for (const s of servers) {
    const redirect = s.tls?.['httpsRedirect'] === true;
    for (const vs of boundVirtualServices(ctx, s)) {
      for (const h of arr<string>(vs.spec['hosts'])) {
        const host = h === '*' ? '*' : fqdn(h, vs.namespace, ctx.mesh.domainSuffix) === h ? h : h;
        if (!s.hosts.some((sh) => hostMatches(sh, host))) continue;
        const key = `${host}:${port}`;
        if (vhosts.has(key)) continue;
        const routes = buildHttpRoutes(
          { proxy, ctx, port, gateways: servers.map((x) => x.gatewayName) },
          [vs],
          fqdn(host, vs.namespace, ctx.mesh.domainSuffix),
        );
        const vh: Msg = { name: key, domains: host === '*' ? ['*'] : [host, `${host}:${port}`], routes };
        if (redirect) vh['require_tls'] = 'ALL';
        vhosts.set(key, vh);
      }
    }
  }
  const list = [...vhosts.values()];
  if (list.length === 0)
    list.push({
      name: `blackhole:${port}`,
      domains: ['*'],
      routes: [{ match: { prefix: '/' }, direct_response: { status: 404 } }],
    });
  return { name: routeName, virtual_hosts: list, validate_clusters: wrap(false) };
}

export function gatewayRouteNames(proxy: Proxy, ctx: PushContext): string[] {
  const names = new Set<string>();
  for (const s of gatewayServers(proxy, ctx))
    if (isHttpServer(s) || s.protocol === 'HTTP' || s.tls?.['httpsRedirect'] === true) names.add(gatewayRouteName(s));
  return [...names];
}
