/**
 * Sidecar-scoped generation (Istio's `Sidecar` resource, 1.1+): which services
 * a sidecar sees. The Sidecar in the proxy's namespace whose workloadSelector
 * matches wins, then the namespace's selector-less one, then the root
 * namespace's; `egress[].hosts` entries are `namespace/dnsName` (`.` = the
 * proxy's namespace, `*` = any; dnsName exact, `*` or `*.suffix`). Without a
 * Sidecar every service is visible, as in Istio 1.0.
 */
import type { Proxy } from './proxy';
import { cached, type ConfigRef, type PushContext } from './push-context';
import { labelsMatch, type Service } from './types';

export interface SidecarScope {
  /** Cache key: `*` for "everything", else the Sidecar's namespace/name. */
  key: string;
  services: Service[];
}

export const ROOT_NAMESPACE = 'istio-system';

function sidecarFor(proxy: Proxy, ctx: PushContext): ConfigRef | undefined {
  const all = cached(ctx, 'sidecars', () =>
    ctx.store.list('Sidecar').map((o) => ({
      name: o.name,
      namespace: o.namespace,
      spec: (o.object.spec ?? {}) as Record<string, unknown>,
      order: o.key,
    })),
  );
  if (all.length === 0) return undefined;
  const selectorOf = (s: ConfigRef) =>
    (s.spec['workloadSelector'] as { labels?: Record<string, string> } | undefined)?.labels;
  const inNs = all.filter((s) => s.namespace === proxy.namespace);
  return (
    inNs.find((s) => selectorOf(s) && labelsMatch(selectorOf(s), proxy.labels)) ??
    inNs.find((s) => !selectorOf(s)) ??
    all.find((s) => s.namespace === ROOT_NAMESPACE && !selectorOf(s))
  );
}

function hostMatches(pattern: string, hostname: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return hostname.endsWith(pattern.slice(1));
  return pattern === hostname;
}

export function visible(sidecar: ConfigRef, proxyNamespace: string, svc: Service): boolean {
  const egress = Array.isArray(sidecar.spec['egress']) ? (sidecar.spec['egress'] as { hosts?: string[] }[]) : [];
  for (const e of egress)
    for (const h of e.hosts ?? []) {
      const i = h.indexOf('/');
      const ns = i >= 0 ? h.slice(0, i) : '*';
      const name = i >= 0 ? h.slice(i + 1) : h;
      const nsOk =
        ns === '*' ||
        (ns === '.' ? svc.namespace === (sidecar.namespace || proxyNamespace) : ns !== '~' && svc.namespace === ns);
      if (nsOk && hostMatches(name, svc.hostname)) return true;
    }
  return false;
}

/** The services a proxy's generation covers (cached per push and Sidecar). */
export function sidecarScope(proxy: Proxy, ctx: PushContext): SidecarScope {
  if (proxy.type !== 'sidecar') return { key: '*', services: ctx.services };
  const sc = sidecarFor(proxy, ctx);
  if (!sc) return { key: '*', services: ctx.services };
  const key = `${sc.namespace}/${sc.name}`;
  return cached(ctx, `scope|${key}`, () => ({
    key,
    services: ctx.services.filter((s) => visible(sc, proxy.namespace, s)),
  }));
}
