/**
 * Sidecar outbound RDS: RouteConfiguration `"<port>"` with one virtual host per
 * service on that port, named `<FQDN>:<port>`, answering every name a client
 * may use (Istio 1.0 `httproute.go` generateVirtualHostDomains /
 * generateAltVirtualHosts), plus the catch-all host for unknown destinations.
 */
import type { Proxy } from '../model/proxy';
import { sidecarScope, type SidecarScope } from '../model/sidecar-scope';
import {
  cached,
  destinationRuleFor,
  fqdn,
  identity,
  stable,
  type ConfigRef,
  type PushContext,
} from '../model/push-context';
import { isHttpProtocol, type Service } from '../model/types';
import { buildHttpRoutes, hashPolicy } from './http-route';
import { BLACKHOLE_CLUSTER, dur, outboundClusterName, PASSTHROUGH_CLUSTER, wrap, type Msg } from './names';

/** Short forms of `host` relative to the proxy's domain (`reviews`, `reviews.default`, ...). */
export function altHosts(hostname: string, proxyDomain: string): string[] {
  const h = hostname.split('.');
  const d = proxyDomain.split('.');
  let shared = 0;
  while (shared < d.length && shared < h.length - 1 && h[h.length - 1 - shared] === d[d.length - 1 - shared]) shared++;
  if (shared === 0) return [];
  const out: string[] = [];
  // Every prefix of the host that stops within the shared suffix is a name the resolver expands.
  for (let keep = h.length - shared; keep < h.length; keep++) out.push(h.slice(0, keep).join('.'));
  return out;
}

/** All domains of the virtual host for `svc:port` as seen from `proxy`. */
export function virtualHostDomains(svc: Service, port: number, proxyDomain: string): string[] {
  const names = [svc.hostname, ...altHosts(svc.hostname, proxyDomain)];
  if (svc.address && svc.address !== '0.0.0.0') names.push(svc.address);
  const out: string[] = [];
  for (const n of names) {
    out.push(n);
    out.push(`${n}:${port}`);
  }
  return out;
}

const boundToMesh = (vs: ConfigRef): boolean => {
  const gws = Array.isArray(vs.spec['gateways']) ? (vs.spec['gateways'] as string[]) : [];
  return gws.length === 0 || gws.includes('mesh');
};

/** VirtualServices bound to the `mesh` gateway whose hosts cover `hostname`, oldest first. */
export function virtualServicesFor(ctx: PushContext, hostname: string): ConfigRef[] {
  return cached(ctx, `vsfor|${hostname}`, () =>
    ctx.virtualServices.filter(
      (vs) =>
        boundToMesh(vs) &&
        (Array.isArray(vs.spec['hosts']) ? (vs.spec['hosts'] as string[]) : []).some((h) => {
          const f = fqdn(h, vs.namespace, ctx.mesh.domainSuffix);
          return f === hostname || f === '*' || (f.startsWith('*.') && hostname.endsWith(f.slice(1)));
        }),
    ),
  );
}

function usesSourceLabels(vss: readonly ConfigRef[]): boolean {
  return vss.some((vs) =>
    (Array.isArray(vs.spec['http']) ? (vs.spec['http'] as Msg[]) : []).some((r) =>
      (Array.isArray(r['match']) ? (r['match'] as Msg[]) : []).some((m) => m['sourceLabels'] || m['sourceNamespace']),
    ),
  );
}

/** The default route when no VirtualService covers the host. */
export function defaultRoute(ctx: PushContext, svc: Service, port: number): Msg {
  const cluster = outboundClusterName(port, '', svc.hostname);
  const route: Msg = { cluster, timeout: dur(0) };
  const hp = hashPolicy(ctx, cluster);
  if (hp) route['hash_policy'] = hp;
  return { match: { prefix: '/' }, route, decorator: { operation: `${svc.hostname}:${port}/*` } };
}

/** Everything routes of `vss` read besides the VS specs: destination services' ports and DestinationRules, delegates. */
function routeInputs(ctx: PushContext, vss: readonly ConfigRef[]): unknown[] {
  const out: unknown[] = [];
  for (const vs of vss) {
    out.push(vs.name, vs.namespace, vs.spec);
    for (const r of (vs.spec['http'] as Msg[] | undefined) ?? []) {
      if (r['delegate'])
        out.push(ctx.virtualServices.filter((v) => !v.spec['hosts']).map((v) => [v.name, v.namespace, v.spec]));
      for (const d of [...((r['route'] as Msg[] | undefined) ?? []).map((x) => x['destination']), r['mirror']]) {
        const host =
          d && typeof (d as Msg)['host'] === 'string'
            ? fqdn(String((d as Msg)['host']), vs.namespace, ctx.mesh.domainSuffix)
            : undefined;
        if (host) out.push(host, ctx.servicesByHost.get(host)?.ports, destinationRuleFor(ctx, host)?.spec);
      }
    }
  }
  return out;
}

/** One service's virtual host on a port (cached per push by proxy domain, and labels when routes depend on them). */
export function serviceVirtualHost(proxy: Proxy, ctx: PushContext, svc: Service, port: number): Msg {
  const vss = virtualServicesFor(ctx, svc.hostname);
  const labelsKey = usesSourceLabels(vss) ? JSON.stringify(proxy.labels) + proxy.namespace : '';
  const fp = () =>
    JSON.stringify([
      svc,
      routeInputs(ctx, vss),
      destinationRuleFor(ctx, svc.hostname)?.spec,
      ctx.mesh,
      proxy.domain,
      labelsKey,
    ]);
  return stable(ctx, `vh|${svc.hostname}|${port}|${proxy.domain}|${labelsKey}`, fp, () => {
    const scope = { proxy, ctx, port, gateways: ['mesh'] };
    const routes = vss.length > 0 ? buildHttpRoutes(scope, vss, svc.hostname) : [defaultRoute(ctx, svc, port)];
    return {
      name: `${svc.hostname}:${port}`,
      domains: virtualHostDomains(svc, port, proxy.domain),
      routes,
    };
  });
}

/** Drops domains already claimed by an earlier virtual host (Envoy rejects duplicates). */
export function dedupeDomains(vhosts: Msg[]): Msg[] {
  const seen = new Set<string>();
  const out: Msg[] = [];
  for (const vh of vhosts) {
    const domains = (vh['domains'] as string[]).filter((d) => !seen.has(d));
    for (const d of domains) seen.add(d);
    if (domains.length > 0) out.push(domains.length === (vh['domains'] as string[]).length ? vh : { ...vh, domains });
  }
  return out;
}

/** Catch-all virtual host: PassthroughCluster (ALLOW_ANY) or BlackHoleCluster (REGISTRY_ONLY). */
export function fallbackVirtualHost(ctx: PushContext): Msg {
  const allow = ctx.mesh.outboundTrafficPolicy === 'ALLOW_ANY';
  return {
    name: allow ? 'allow_any' : 'block_all',
    domains: ['*'],
    routes: [
      {
        match: { prefix: '/' },
        route: { cluster: allow ? PASSTHROUGH_CLUSTER : BLACKHOLE_CLUSTER, timeout: dur(0) },
      },
    ],
  };
}

/** Services with an HTTP port `port`. */
export function httpServicesOnPort(
  ctx: PushContext,
  port: number,
  scope: SidecarScope = { key: '*', services: ctx.services },
): Service[] {
  return cached(ctx, `httpsvc|${port}|${scope.key}`, () =>
    scope.services.filter((s) => s.ports.some((p) => p.port === port && isHttpProtocol(p.protocol))),
  );
}

/** Whether any mesh VirtualService depends on the client's labels or namespace (then routes are per proxy). */
function anySourceMatch(ctx: PushContext): boolean {
  return cached(ctx, 'anySourceMatch', () => usesSourceLabels(ctx.virtualServices));
}

/** Cache key of the per-proxy inputs of a sidecar route config. */
function proxyRouteKey(proxy: Proxy, ctx: PushContext): string {
  return `${proxy.domain}|${sidecarScope(proxy, ctx).key}|${anySourceMatch(ctx) ? JSON.stringify(proxy.labels) + proxy.namespace : ''}`;
}

/** RouteConfiguration `"<port>"` for a sidecar (shared by proxies with the same domain, and labels when routes use them). */
export function sidecarRouteConfig(proxy: Proxy, ctx: PushContext, port: number): Msg {
  return cached(ctx, `rc|${port}|${proxyRouteKey(proxy, ctx)}`, () => {
    const vhosts = httpServicesOnPort(ctx, port, sidecarScope(proxy, ctx)).map((s) =>
      serviceVirtualHost(proxy, ctx, s, port),
    );
    const fp = () => `${ctx.mesh.outboundTrafficPolicy}|${vhosts.map(identity).join(',')}`;
    return stable(ctx, `rc-stable|${port}|${proxyRouteKey(proxy, ctx)}`, fp, () => ({
      name: String(port),
      virtual_hosts: [...dedupeDomains(vhosts), fallbackVirtualHost(ctx)],
      validate_clusters: wrap(false),
    }));
  });
}

/** RouteConfiguration `http_proxy`: every HTTP service port, for clients using the sidecar as HTTP proxy. */
export function httpProxyRouteConfig(proxy: Proxy, ctx: PushContext): Msg {
  return cached(ctx, `rc|http_proxy|${proxyRouteKey(proxy, ctx)}`, () => httpProxyRouteConfigUncached(proxy, ctx));
}

function httpProxyRouteConfigUncached(proxy: Proxy, ctx: PushContext): Msg {
  const vhosts: Msg[] = [];
  const tunnels: Msg[] = [];
  for (const s of sidecarScope(proxy, ctx).services)
    for (const p of s.ports) {
      if (isHttpProtocol(p.protocol)) vhosts.push(serviceVirtualHost(proxy, ctx, s, p.port));
      else tunnels.push(connectVirtualHost(proxy, s, p.port));
    }
  const fallback = fallbackVirtualHost(ctx);
  return {
    name: 'http_proxy',
    virtual_hosts: [
      ...dedupeDomains([...vhosts, ...tunnels]),
      { ...fallback, routes: [connectRoute((fallback['routes'] as Msg[])[0]), ...(fallback['routes'] as Msg[])] },
    ],
    validate_clusters: wrap(false),
  };
}

/** A `CONNECT` route to the cluster of `like` (the tunnel is a byte pipe; no timeout on it). */
function connectRoute(like: Msg): Msg {
  return { match: { connect_matcher: {} }, route: { cluster: (like['route'] as Msg)['cluster'], timeout: dur(0) } };
}

/**
 * Non-HTTP ports (HTTPS, TLS, TCP) are reachable through the explicit proxy by `CONNECT host:port`:
 * an app with `HTTPS_PROXY` pointing at the sidecar tunnels to the service's outbound cluster.
 */
function connectVirtualHost(proxy: Proxy, svc: Service, port: number): Msg {
  const cluster = outboundClusterName(port, '', svc.hostname);
  return {
    name: `${svc.hostname}:${port}`,
    domains: virtualHostDomains(svc, port, proxy.domain).filter((d) => d.endsWith(`:${port}`)),
    routes: [connectRoute({ route: { cluster } })],
  };
}

/** Ports that get an outbound HTTP listener/route config. */
export function httpPorts(ctx: PushContext, scope: SidecarScope = { key: '*', services: ctx.services }): number[] {
  return cached(ctx, `httpports|${scope.key}`, () => {
    const s = new Set<number>();
    for (const svc of scope.services) for (const p of svc.ports) if (isHttpProtocol(p.protocol)) s.add(p.port);
    return [...s].sort((a, b) => a - b);
  });
}
