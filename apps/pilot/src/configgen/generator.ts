/**
 * Generators keyed by type URL: what Pilot sends a proxy for LDS, RDS, CDS
 * and EDS, by proxy kind (sidecar, router, proxyless gRPC). `names` are the
 * resources the client subscribed to (empty = wildcard).
 */
import type { Proxy } from '../model/proxy';
import type { PushContext } from '../model/push-context';
import { buildClusters } from './cluster';
import { buildLoadAssignment, edsClusterNames } from './endpoints';
import { buildGatewayListeners, gatewayRouteConfig, gatewayRouteNames } from './gateway';
import { grpcListener, grpcRouteConfig } from './grpc';
import { gatewaySecrets } from './secrets';
import { buildSidecarListeners, sidecarRouteNames } from './listener';
import { TYPE, type Msg } from './names';
import type { PluginRegistry } from './plugins';
import { httpProxyRouteConfig, sidecarRouteConfig } from './virtual-host';

export interface Generated {
  resources: Msg[];
}

export function resourceName(m: Msg): string {
  return String(m['name'] ?? m['cluster_name'] ?? '');
}

function byNames(all: Msg[], names: readonly string[]): Msg[] {
  if (names.length === 0) return all;
  const want = new Set(names);
  return all.filter((m) => want.has(resourceName(m)));
}

export function generateListeners(
  proxy: Proxy,
  ctx: PushContext,
  names: readonly string[],
  plugins?: PluginRegistry,
): Msg[] {
  if (proxy.generator === 'grpc') return names.map((n) => grpcListener(proxy, ctx, n)).filter((x): x is Msg => !!x);
  const all =
    proxy.type === 'router' ? buildGatewayListeners(proxy, ctx, plugins) : buildSidecarListeners(proxy, ctx, plugins);
  return byNames(all, names);
}

export function routeNamesFor(proxy: Proxy, ctx: PushContext): string[] {
  return proxy.type === 'router' ? gatewayRouteNames(proxy, ctx) : sidecarRouteNames(proxy, ctx);
}

export function generateRoutes(proxy: Proxy, ctx: PushContext, names: readonly string[]): Msg[] {
  const want = names.length > 0 ? names : routeNamesFor(proxy, ctx);
  const out: Msg[] = [];
  for (const n of want) {
    let rc: Msg | undefined;
    if (proxy.generator === 'grpc') rc = grpcRouteConfig(proxy, ctx, n);
    else if (proxy.type === 'router') rc = gatewayRouteConfig(proxy, ctx, n);
    else if (n === 'http_proxy') rc = httpProxyRouteConfig(proxy, ctx);
    else if (/^\d+$/.test(n)) rc = sidecarRouteConfig(proxy, ctx, Number(n));
    if (rc) out.push(rc);
  }
  return out;
}

export function generateClusters(
  proxy: Proxy,
  ctx: PushContext,
  names: readonly string[],
  plugins?: PluginRegistry,
): Msg[] {
  return byNames(buildClusters(proxy, ctx, plugins), names);
}

export function generateEndpoints(proxy: Proxy, ctx: PushContext, names: readonly string[]): Msg[] {
  const want = names.length > 0 ? names : edsClusterNames(buildClusters(proxy, ctx));
  const out: Msg[] = [];
  for (const n of want) {
    const cla = buildLoadAssignment(ctx, n);
    if (cla) out.push(cla);
  }
  return out;
}

/** Generates the resources of one type for a proxy. */
export function generate(
  typeUrl: string,
  proxy: Proxy,
  ctx: PushContext,
  names: readonly string[],
  plugins?: PluginRegistry,
): Msg[] | undefined {
  switch (typeUrl) {
    case TYPE.listener:
      return generateListeners(proxy, ctx, names, plugins);
    case TYPE.route:
      return generateRoutes(proxy, ctx, names);
    case TYPE.cluster:
      return generateClusters(proxy, ctx, names, plugins);
    case TYPE.endpoint:
      return generateEndpoints(proxy, ctx, names);
    case TYPE.secret: {
      const out: Msg[] = proxy.type === 'router' ? gatewaySecrets(proxy, ctx, names) : [];
      for (const p of plugins?.list() ?? []) if (p.secrets) out.push(...p.secrets(proxy, ctx, names));
      return out;
    }
    default:
      return undefined;
  }
}
