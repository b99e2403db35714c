/**
 * Slots that the security (authn, RBAC, mTLS) and Mixer generators fill.
 * Pilot calls them while building listeners and clusters; HTTP filters are
 * placed in Istio 1.0's plugin order (registry: authn, authz, health, mixer),
 * then CORS and fault, and the router always last.
 */
import type { Proxy } from '../model/proxy';
import type { PushContext } from '../model/push-context';
import type { Service, ServicePort } from '../model/types';
import type { Msg } from './names';

export type FilterSlot = 'authn' | 'rbac' | 'mixer';
export const SLOT_ORDER: readonly FilterSlot[] = ['authn', 'rbac', 'mixer'];

export interface ListenerInput {
  proxy: Proxy;
  ctx: PushContext;
  /** The service and port the listener serves (inbound) or routes to (outbound, absent for shared ports). */
  service?: Service;
  port: ServicePort;
  direction: 'inbound' | 'outbound';
}

export interface ClusterInput {
  proxy: Proxy;
  ctx: PushContext;
  service: Service;
  port: ServicePort;
  subset: string;
  /** True when a DestinationRule set an explicit `tls` block (which then wins). */
  hasExplicitTls: boolean;
}

export interface InboundChainPlan {
  listenerFilters: Msg[];
  chains: { filter_chain_match?: Msg; transport_socket?: Msg }[];
}

export interface ConfigPlugin {
  name: string;
  slot: FilterSlot;
  /** HTTP filters for this slot on an HTTP connection manager. */
  httpFilters?(input: ListenerInput): Msg[];
  /** Network filters for this slot before tcp_proxy in a TCP filter chain (e.g. Mixer's TCP filter). */
  tcpFilters?(input: ListenerInput): Msg[];
  /** Transport socket (DownstreamTlsContext) for an inbound filter chain, e.g. mTLS STRICT. */
  inboundTransportSocket?(input: ListenerInput): Msg | undefined;
  /**
   * Inbound filter chains for a port (e.g. PERMISSIVE mTLS = a TLS chain matched by
   * `transport_protocol: tls` plus a plaintext chain). The first plugin returning a plan wins;
   * without one, `inboundTransportSocket` decides a single chain.
   */
  inboundChainPlan?(input: ListenerInput): InboundChainPlan | undefined;
  /** Last word on an outbound cluster (e.g. mesh-wide ISTIO_MUTUAL, SDS secret names). */
  onOutboundCluster?(cluster: Msg, input: ClusterInput): void;
  /** SDS secrets this proxy asked for. */
  secrets?(proxy: Proxy, ctx: PushContext, names: readonly string[]): Msg[];
}

/** The registered plugins (explicit registration from main.ts; see DESIGN.md). */
export class PluginRegistry {
  private readonly plugins: ConfigPlugin[] = [];

  register(p: ConfigPlugin): void {
    this.plugins.push(p);
    this.plugins.sort((a, b) => SLOT_ORDER.indexOf(a.slot) - SLOT_ORDER.indexOf(b.slot));
  }

  list(): readonly ConfigPlugin[] {
    return this.plugins;
  }

  httpFilters(input: ListenerInput): Msg[] {
    const out: Msg[] = [];
    for (const p of this.plugins) if (p.httpFilters) out.push(...p.httpFilters(input));
    return out;
  }

  tcpFilters(input: ListenerInput): Msg[] {
    const out: Msg[] = [];
    for (const p of this.plugins) if (p.tcpFilters) out.push(...p.tcpFilters(input));
    return out;
  }

  inboundTransportSocket(input: ListenerInput): Msg | undefined {
    for (const p of this.plugins) {
      const ts = p.inboundTransportSocket?.(input);
      if (ts) return ts;
    }
    return undefined;
  }

  inboundChainPlan(input: ListenerInput): InboundChainPlan | undefined {
    for (const p of this.plugins) {
      const plan = p.inboundChainPlan?.(input);
      if (plan) return plan;
    }
    return undefined;
  }

  onOutboundCluster(cluster: Msg, input: ClusterInput): void {
    for (const p of this.plugins) p.onOutboundCluster?.(cluster, input);
  }
}
