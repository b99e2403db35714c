/**
 * Envoy's filter chain selection (envoy.config.listener.v3.FilterChainMatch): the criteria are
 * applied in order — destination_port, prefix_ranges (destination IP), server_names,
 * transport_protocol, application_protocols, direct_source_prefix_ranges, source_type,
 * source_prefix_ranges, source_ports —
 * and at each step only the most specific chains that match survive (chains that leave the
 * criterion empty survive only when no specific one matched). There is no backtracking: a chain
 * dropped at one step is never reconsidered. No survivor → the listener's default chain or none.
 */
import net from 'node:net';

/** One `CidrRange`, parsed once per push. */
export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefixLen: number;
}

/** The parts of a `FilterChainMatch` the engine honours. */
export interface ChainMatch {
  readonly destinationPort?: number;
  readonly prefixRanges?: readonly Cidr[];
  /** Lower-case; exact names or `*.suffix`. */
  readonly serverNames?: readonly string[];
  readonly transportProtocol?: string;
  readonly applicationProtocols?: readonly string[];
  /** `direct_source_prefix_ranges`: the peer address (no PROXY protocol here, so the source IP). */
  readonly directSourcePrefixRanges?: readonly Cidr[];
  /** 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL'; absent = ANY. */
  readonly sourceType?: string;
  readonly sourcePrefixRanges?: readonly Cidr[];
  readonly sourcePorts?: readonly number[];
}

/** What is known of a connection when its chain is picked. */
export interface ConnectionFacts {
  destinationIp: string;
  destinationPort: number;
  sourceIp: string;
  sourcePort: number;
  /** 'tls' or 'raw_buffer'. */
  transportProtocol: string;
  sni?: string;
  alpn: readonly string[];
}

/** Parses an IPv4/IPv6 address (IPv4-mapped IPv6 becomes IPv4) to bytes; null when not an IP. */
export function ipBytes(ip: string): Uint8Array | null {
  const s = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  const v = net.isIP(s);
  if (v === 4) return Uint8Array.from(s.split('.').map(Number));
  if (v !== 6) return null;
  const [head, tail = ''] = s.includes('::') ? s.split('::') : [s, undefined];
  const groups = (x: string): number[] => {
    if (!x) return [];
    const out: number[] = [];
    for (const g of x.split(':')) {
      if (g.includes('.')) {
        const [a, b, c, d] = g.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = groups(head);
  const t = s.includes('::') ? groups(tail) : [];
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** `{address_prefix, prefix_len}` → Cidr, or an error message. */
export function parseCidr(m: Record<string, unknown>): Cidr | string {
  const bytes = ipBytes(String(m['address_prefix'] ?? ''));
  if (!bytes) return `address_prefix "${String(m['address_prefix'] ?? '')}" is not an IP address`;
  const raw = m['prefix_len'] as { value?: unknown } | number | undefined;
  const len = raw === undefined || raw === null ? bytes.length * 8 : Number(typeof raw === 'object' ? raw.value : raw);
  if (!Number.isInteger(len) || len < 0 || len > bytes.length * 8) return `prefix_len must be 0..${bytes.length * 8}`;
  return { bytes, prefixLen: len };
}

function inCidr(ip: Uint8Array, c: Cidr): boolean {
  if (ip.length !== c.bytes.length) return false;
  const full = c.prefixLen >> 3;
  for (let i = 0; i < full; i++) if (ip[i] !== c.bytes[i]) return false;
  const rest = c.prefixLen & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (ip[full] & mask) === (c.bytes[full] & mask);
}

/** Longest matching prefix length, -1 when none matches. */
function longestPrefix(ip: Uint8Array | null, ranges: readonly Cidr[]): number {
  let best = -1;
  if (ip) for (const r of ranges) if (r.prefixLen > best && inCidr(ip, r)) best = r.prefixLen;
  return best;
}

/**
 * Server-name specificity: exact beats every wildcard, a longer `*.suffix` beats a shorter one
 * (`*.b.example.com` over `*.example.com`, Envoy's suffix walk); -1 when nothing matches.
 */
export function serverNameScore(names: readonly string[], sni: string): number {
  let best = -1;
  for (const n of names) {
    if (n === sni) return Number.MAX_SAFE_INTEGER;
    if (n.startsWith('*.') && sni.length > n.length - 1 && sni.endsWith(n.slice(1)) && n.length > best) best = n.length;
  }
  return best;
}

/**
 * One step: each chain's score (undefined = criterion empty, -1 = no match, higher = more
 * specific). The best positive scorers survive; otherwise the chains without the criterion.
 */
function narrow<T>(items: readonly T[], score: (t: T) => number | undefined): T[] {
  let best = -1;
  let winners: T[] = [];
  const open: T[] = [];
  for (const it of items) {
    const s = score(it);
    if (s === undefined) open.push(it);
    else if (s > best) {
      best = s;
      winners = [it];
    } else if (s === best && s >= 0) winners.push(it);
  }
  return best >= 0 ? winners : open;
}

const isLoopback = (ip: Uint8Array | null): boolean =>
  !!ip && (ip.length === 4 ? ip[0] === 127 : ip.every((b, i) => b === (i === 15 ? 1 : 0)));

/** The chain Envoy would pick for this connection, or undefined (then: default chain or close). */
export function selectChain<T extends { readonly match: ChainMatch }>(
  chains: readonly T[],
  f: ConnectionFacts,
): T | undefined {
  const dst = ipBytes(f.destinationIp);
  const src = ipBytes(f.sourceIp);
  let c = narrow(chains, (x) =>
    x.match.destinationPort === undefined ? undefined : x.match.destinationPort === f.destinationPort ? 0 : -1,
  );
  c = narrow(c, (x) => (x.match.prefixRanges?.length ? longestPrefix(dst, x.match.prefixRanges) : undefined));
  c = narrow(c, (x) =>
    x.match.serverNames?.length ? (f.sni ? serverNameScore(x.match.serverNames, f.sni) : -1) : undefined,
  );
  c = narrow(c, (x) =>
    x.match.transportProtocol ? (x.match.transportProtocol === f.transportProtocol ? 0 : -1) : undefined,
  );
  c = narrow(c, (x) =>
    x.match.applicationProtocols?.length
      ? x.match.applicationProtocols.some((p) => f.alpn.includes(p))
        ? 0
        : -1
      : undefined,
  );
  c = narrow(c, (x) =>
    x.match.directSourcePrefixRanges?.length ? longestPrefix(src, x.match.directSourcePrefixRanges) : undefined,
  );
  c = narrow(c, (x) => {
    const t = x.match.sourceType;
    if (!t || t === 'ANY') return undefined;
    const local = isLoopback(src) || (!!src && !!dst && src.length === dst.length && src.every((b, i) => b === dst[i]));
    return (t === 'SAME_IP_OR_LOOPBACK') === local ? 0 : -1;
  });
  c = narrow(c, (x) =>
    x.match.sourcePrefixRanges?.length ? longestPrefix(src, x.match.sourcePrefixRanges) : undefined,
  );
  c = narrow(c, (x) =>
    x.match.sourcePorts?.length ? (x.match.sourcePorts.includes(f.sourcePort) ? 0 : -1) : undefined,
  );
  return c[0];
}

/** Whether picking among these chains needs the ClientHello (SNI, ALPN or TLS detection). */
export function needsInspection(matches: readonly ChainMatch[]): boolean {
  return matches.some((m) => !!m.serverNames?.length || !!m.applicationProtocols?.length || !!m.transportProtocol);
}
