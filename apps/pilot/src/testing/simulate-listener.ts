/**
 * Walks generated sidecar Listeners the way Envoy picks a listener and a filter chain for a new connection
 * (listener by original destination `ip:port`, else `0.0.0.0:port`, else the `virtual` capture listener; then
 * `filter_chain_match` level by level: destination port, destination IP by longest `prefix_ranges`, SNI by exact then
 * longest wildcard `server_names`, each level falling back to chains without that criterion, never backtracking),
 * so tests say "a TLS connection to 443 with SNI www.google.com goes to outbound|443||www.google.com".
 */
import type { Msg } from '../configgen/names';

export interface SimConnection {
  /** Original destination address and port. */
  ip: string;
  port: number;
  /** SNI from the ClientHello; undefined for plaintext or TLS without SNI. */
  sni?: string;
}

export interface SimTcpResult {
  listener: string;
  chain: Msg;
  cluster?: string;
  weighted?: { name: string; weight: number }[];
}

function ipv4ToInt(ip: string): number | undefined {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) return undefined;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** Prefix length of the longest range of `c` containing `ip`, -1 when none does (chain without ranges: undefined). */
function prefixScore(c: Msg, ip: string): number | undefined {
  const ranges = ((c['filter_chain_match'] as Msg | undefined)?.['prefix_ranges'] as Msg[] | undefined) ?? [];
  if (ranges.length === 0) return undefined;
  const addr = ipv4ToInt(ip);
  let best = -1;
  for (const r of ranges) {
    const len = Number((r['prefix_len'] as Msg | undefined)?.['value'] ?? 0);
    const base = ipv4ToInt(String(r['address_prefix']));
    if (addr === undefined || base === undefined) continue;
    const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
    if ((addr & mask) >>> 0 === (base & mask) >>> 0 && len > best) best = len;
  }
  return best;
}

/** Specificity of `c`'s server_names for `sni`: exact > longest `*.suffix`; -1 no match; undefined: no names. */
function sniScore(c: Msg, sni: string | undefined): number | undefined {
  const names = ((c['filter_chain_match'] as Msg | undefined)?.['server_names'] as string[] | undefined) ?? [];
  if (names.length === 0) return undefined;
  if (!sni) return -1;
  let best = -1;
  for (const n of names) {
    if (n === sni) best = Math.max(best, 10000);
    else if (n.startsWith('*.') && sni.endsWith(n.slice(1))) best = Math.max(best, n.length);
  }
  return best;
}

/** Keeps the chains with the best score at one level; chains without the criterion only when none matched. */
function level(chains: Msg[], score: (c: Msg) => number | undefined): Msg[] {
  let best = -1;
  for (const c of chains) best = Math.max(best, score(c) ?? -1);
  if (best >= 0) return chains.filter((c) => score(c) === best);
  return chains.filter((c) => score(c) === undefined);
}

function pickListener(listeners: Msg[], conn: SimConnection): Msg | undefined {
  const at = (ip: string) =>
    listeners.find((l) => {
      const sa = (l['address'] as Msg)['socket_address'] as Msg;
      return sa['address'] === ip && Number(sa['port_value']) === conn.port && l['name'] !== 'virtual';
    });
  return at(conn.ip) ?? at('0.0.0.0') ?? listeners.find((l) => l['name'] === 'virtual');
}

/** Routes a new outbound connection through the sidecar's listeners; undefined when no filter chain matches. */
export function simulateConnection(listeners: Msg[], conn: SimConnection): SimTcpResult | undefined {
  const l = pickListener(listeners, conn);
  if (!l) return undefined;
  let chains = (l['filter_chains'] as Msg[]) ?? [];
  chains = level(chains, (c) => {
    const dp = (c['filter_chain_match'] as Msg | undefined)?.['destination_port'] as Msg | undefined;
    if (!dp) return undefined;
    return Number(dp['value']) === conn.port ? 0 : -1;
  });
  chains = level(chains, (c) => prefixScore(c, conn.ip));
  // Envoy only sees SNI when the tls_inspector runs on the listener.
  const inspects = ((l['listener_filters'] as Msg[] | undefined) ?? []).some(
    (f) => f['name'] === 'envoy.filters.listener.tls_inspector',
  );
  chains = level(chains, (c) => sniScore(c, inspects ? conn.sni : undefined));
  const chain = chains[0];
  if (!chain) return undefined;
  const tcp = ((chain['filters'] as Msg[]) ?? []).find((f) => f['name'] === 'envoy.filters.network.tcp_proxy');
  const cfg = (tcp?.['typed_config'] as Msg | undefined) ?? {};
  const wc = cfg['weighted_clusters'] as Msg | undefined;
  return {
    listener: String(l['name']),
    chain,
    cluster: typeof cfg['cluster'] === 'string' ? cfg['cluster'] : undefined,
    weighted: wc
      ? (wc['clusters'] as Msg[]).map((c) => ({ name: String(c['name']), weight: Number(c['weight']) }))
      : undefined,
  };
}
