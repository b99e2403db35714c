/**
 * Proxyless gRPC generation (node metadata `GENERATOR: grpc`), shaped for what
 * @grpc/grpc-js-xds accepts: API listeners named `host:port` with an HCM whose
 * only/last filter is the router, RDS with `safe_regex`, no redirects, timeouts
 * as `max_stream_duration`, gRPC retry codes, EDS with locality and weights,
 * ROUND_ROBIN / RING_HASH only.
 */
import type { Proxy } from '../model/proxy';
import { fqdn, type PushContext } from '../model/push-context';
import type { Service } from '../model/types';
import { buildHttpRoutes } from './http-route';
import { adsConfigSource } from './listener';
import { FILTER_NAME, FILTER_TYPE, outboundClusterName, type Msg } from './names';
import { virtualHostDomains, virtualServicesFor } from './virtual-host';

/** Resolves a listener name `host:port` (short or FQDN) to a service and port. */
export function resolveTarget(
  proxy: Proxy,
  ctx: PushContext,
  name: string,
): { svc: Service; port: number } | undefined {
  const i = name.lastIndexOf(':');
  if (i <= 0) return undefined;
  const host = name.slice(0, i);
  const port = Number(name.slice(i + 1));
  if (!Number.isInteger(port)) return undefined;
  const candidates = [
    host,
    fqdn(host, proxy.namespace, ctx.mesh.domainSuffix),
    `${host}.svc.${ctx.mesh.domainSuffix}`,
    `${host}.${ctx.mesh.domainSuffix}`,
  ];
  for (const c of candidates) {
    const svc = ctx.servicesByHost.get(c);
    if (svc && svc.ports.some((p) => p.port === port)) return { svc, port };
  }
  return undefined;
}

export function grpcListener(proxy: Proxy, ctx: PushContext, name: string): Msg | undefined {
  if (!resolveTarget(proxy, ctx, name)) return undefined;
  return {
    name,
    api_listener: {
      api_listener: {
        '@type': FILTER_TYPE.hcm,
        stat_prefix: name,
        rds: { config_source: adsConfigSource(), route_config_name: name },
        http_filters: [{ name: FILTER_NAME.router, typed_config: { '@type': FILTER_TYPE.router } }],
      },
    },
  };
}

export function grpcRouteConfig(proxy: Proxy, ctx: PushContext, name: string): Msg | undefined {
  const t = resolveTarget(proxy, ctx, name);
  if (!t) return undefined;
  const vss = virtualServicesFor(ctx, t.svc.hostname);
  const scope = { proxy, ctx, port: t.port, gateways: ['mesh'], grpc: true };
  const routes =
    vss.length > 0
      ? buildHttpRoutes(scope, vss, t.svc.hostname)
      : [
          {
            match: { prefix: '' },
            route: {
              cluster: outboundClusterName(t.port, '', t.svc.hostname),
              max_stream_duration: { grpc_timeout_header_max: { seconds: 0, nanos: 0 } },
            },
          },
        ];
  const domains = new Set([name, ...virtualHostDomains(t.svc, t.port, proxy.domain)]);
  return { name, virtual_hosts: [{ name: `${t.svc.hostname}:${t.port}`, domains: [...domains], routes }] };
}
