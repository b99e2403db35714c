/** `filter_chain_match` (envoy.config.listener.v3.FilterChainMatch) → the engine's ChainMatch. */
import type { FieldError } from '@tsmesh/core';
import { parseCidr, type ChainMatch, type Cidr } from '../listeners/chain-match';
import type { Msg } from './types';

const num = (v: unknown): number => Number((v as { value?: unknown } | null)?.value ?? v);

function cidrs(list: unknown, path: string, errors: FieldError[]): Cidr[] | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const out: Cidr[] = [];
  list.forEach((r: Msg, i) => {
    const c = parseCidr(r ?? {});
    if (typeof c === 'string') errors.push({ path: `${path}[${i}]`, message: c });
    else out.push(c);
  });
  return out;
}

const SOURCE_TYPES = ['ANY', 'SAME_IP_OR_LOOPBACK', 'EXTERNAL'];

export function parseChainMatch(m: Msg, path: string, errors: FieldError[]): ChainMatch {
  const out: {
    -readonly [K in keyof ChainMatch]: ChainMatch[K];
  } = {};
  if (m['destination_port'] !== undefined && m['destination_port'] !== null) {
    const p = num(m['destination_port']);
    if (!(Number.isInteger(p) && p >= 1 && p <= 65535))
      errors.push({ path: `${path}.destination_port`, message: 'must be 1..65535' });
    else out.destinationPort = p;
  }
  out.prefixRanges = cidrs(m['prefix_ranges'], `${path}.prefix_ranges`, errors);
  out.directSourcePrefixRanges = cidrs(m['direct_source_prefix_ranges'], `${path}.direct_source_prefix_ranges`, errors);
  out.sourcePrefixRanges = cidrs(m['source_prefix_ranges'], `${path}.source_prefix_ranges`, errors);
  const names = (m['server_names'] as unknown[] | undefined) ?? [];
  if (names.length) out.serverNames = names.map((n) => String(n).toLowerCase());
  if (m['transport_protocol']) out.transportProtocol = String(m['transport_protocol']);
  const alpn = (m['application_protocols'] as unknown[] | undefined) ?? [];
  if (alpn.length) out.applicationProtocols = alpn.map(String);
  const st = m['source_type'];
  if (st !== undefined && st !== null && st !== 0 && st !== 'ANY') {
    const name = typeof st === 'number' ? SOURCE_TYPES[st] : String(st);
    if (!SOURCE_TYPES.includes(name))
      errors.push({ path: `${path}.source_type`, message: `unknown source_type "${String(st)}"` });
    else out.sourceType = name;
  }
  const ports = (m['source_ports'] as unknown[] | undefined) ?? [];
  if (ports.length) out.sourcePorts = ports.map(num);
  return out;
}
