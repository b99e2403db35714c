import { ipBytes, parseCidr, selectChain, type ChainMatch, type Cidr, type ConnectionFacts } from './chain-match';

const cidr = (p: string, len: number): Cidr => parseCidr({ address_prefix: p, prefix_len: { value: len } }) as Cidr;
const chain = (name: string, match: ChainMatch) => ({ name, match });
const facts = (f: Partial<ConnectionFacts> = {}): ConnectionFacts => ({
  destinationIp: '10.0.0.5',
  destinationPort: 443,
  sourceIp: '10.1.2.3',
  sourcePort: 40000,
  transportProtocol: 'tls',
  alpn: [],
  ...f,
});
const pick = (chains: ReturnType<typeof chain>[], f?: Partial<ConnectionFacts>) => selectChain(chains, facts(f))?.name;

describe('selectChain (Envoy FilterChainMatch order)', () => {
  it('destination port first: a port match wins even if it fails later (no backtracking)', () => {
    const chains = [chain('any', {}), chain('port', { destinationPort: 443, serverNames: ['a.com'] })];
    expect(pick(chains, { sni: 'a.com' })).toBe('port');
    expect(pick(chains, { sni: 'b.com' })).toBeUndefined();
    expect(pick(chains, { destinationPort: 80 })).toBe('any');
  });

  it('destination IP by longest prefix, IPv4-mapped addresses included', () => {
    const chains = [
      chain('eight', { prefixRanges: [cidr('10.0.0.0', 8)] }),
      chain('24', { prefixRanges: [cidr('10.0.0.0', 24)] }),
      chain('none', {}),
    ];
    expect(pick(chains)).toBe('24');
    expect(pick(chains, { destinationIp: '::ffff:10.9.0.1' })).toBe('eight');
    expect(pick(chains, { destinationIp: '192.168.0.1' })).toBe('none');
  });

  it('server names: exact, then longest wildcard suffix, then chains without names', () => {
    const chains = [
      chain('wild', { serverNames: ['*.example.com'] }),
      chain('deeper', { serverNames: ['*.api.example.com'] }),
      chain('exact', { serverNames: ['www.example.com'] }),
      chain('fallback', {}),
    ];
    expect(pick(chains, { sni: 'www.example.com' })).toBe('exact');
    expect(pick(chains, { sni: 'v1.api.example.com' })).toBe('deeper');
    expect(pick(chains, { sni: 'shop.example.com' })).toBe('wild');
    expect(pick(chains, { sni: 'example.com' })).toBe('fallback');
    expect(pick(chains)).toBe('fallback');
  });

  it('then transport protocol, application protocols, source type, source prefix, source port', () => {
    const chains = [
      chain('raw', { transportProtocol: 'raw_buffer' }),
      chain('tls', { transportProtocol: 'tls' }),
      chain('tls-h2', { transportProtocol: 'tls', applicationProtocols: ['h2'] }),
    ];
    expect(pick(chains, { alpn: ['h2', 'http/1.1'] })).toBe('tls-h2');
    expect(pick(chains, { alpn: ['http/1.1'] })).toBe('tls');
    expect(pick(chains, { transportProtocol: 'raw_buffer' })).toBe('raw');
    const src = [
      chain('local', { sourceType: 'SAME_IP_OR_LOOPBACK' }),
      chain('ext-16', { sourceType: 'EXTERNAL', sourcePrefixRanges: [cidr('10.1.0.0', 16)] }),
      chain('ext-port', { sourceType: 'EXTERNAL', sourcePrefixRanges: [cidr('10.1.2.0', 24)], sourcePorts: [40000] }),
    ];
    expect(pick(src, { sourceIp: '127.0.0.1' })).toBe('local');
    expect(pick(src, { sourceIp: '10.0.0.5' })).toBe('local'); // same IP as the destination
    expect(pick(src)).toBe('ext-port');
    expect(pick(src, { sourcePort: 1 })).toBeUndefined();
    expect(pick(src, { sourceIp: '10.1.9.9' })).toBe('ext-16');
  });

  it('direct_source_prefix_ranges narrows before source_type', () => {
    const chains = [
      chain('local', { sourceType: 'SAME_IP_OR_LOOPBACK' }),
      chain('direct', { directSourcePrefixRanges: [cidr('127.0.0.0', 8)], sourceType: 'EXTERNAL' }),
    ];
    expect(pick(chains, { sourceIp: '127.0.0.9' })).toBeUndefined();
    expect(pick(chains, { sourceIp: '10.0.0.5' })).toBe('local');
  });

  it('parses IPv6 and rejects bad ranges', () => {
    expect(Array.from(ipBytes('::1') ?? [])).toEqual([...new Array(15).fill(0), 1]);
    expect(pick([chain('v6', { prefixRanges: [cidr('fd00::', 8)] })], { destinationIp: 'fd12::1' })).toBe('v6');
    expect(parseCidr({ address_prefix: '10.0.0.0', prefix_len: 33 })).toMatch(/prefix_len/);
    expect(parseCidr({ address_prefix: 'nope' })).toMatch(/not an IP/);
  });
});
