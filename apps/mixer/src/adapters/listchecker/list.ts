/** A compiled list of entries of one type (STRINGS, CASE_INSENSITIVE_STRINGS, IP_ADDRESSES, REGEX). */
import { compileRegex, formatIp, parseIp } from '@tsmesh/attributes';

export type EntryType = 'STRINGS' | 'CASE_INSENSITIVE_STRINGS' | 'IP_ADDRESSES' | 'REGEX';

interface Cidr {
  bytes: Uint8Array;
  bits: number;
}

function parseCidr(text: string): Cidr | null {
  const [addr, len] = text.split('/');
  const bytes = parseIp(addr);
  if (!bytes) return null;
  const bits = len === undefined ? bytes.length * 8 : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) return null;
  return { bytes, bits };
}

function inCidr(ip: Uint8Array, c: Cidr): boolean {
  if (ip.length !== c.bytes.length) return false;
  let bits = c.bits;
  for (let i = 0; i < ip.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i] & mask) !== (c.bytes[i] & mask)) return false;
  }
  return true;
}

export interface CompiledList {
  has(value: unknown): boolean;
}

/** Returns the list or the index of the first bad entry. */
export function compileList(type: EntryType, entries: readonly string[]): CompiledList | { bad: number; why: string } {
  switch (type) {
    case 'STRINGS': {
      const set = new Set(entries);
      return { has: (v) => set.has(String(v)) };
    }
    case 'CASE_INSENSITIVE_STRINGS': {
      const set = new Set(entries.map((e) => e.toLowerCase()));
      return { has: (v) => set.has(String(v).toLowerCase()) };
    }
    case 'IP_ADDRESSES': {
      const cidrs: Cidr[] = [];
      for (let i = 0; i < entries.length; i++) {
        const c = parseCidr(entries[i]);
        if (!c) return { bad: i, why: `${JSON.stringify(entries[i])} is not an IP address or CIDR` };
        cidrs.push(c);
      }
      return {
        has: (v) => {
          const ip = v instanceof Uint8Array ? v : parseIp(String(v));
          return !!ip && cidrs.some((c) => inCidr(ip, c));
        },
      };
    }
    case 'REGEX': {
      const res: Array<ReturnType<typeof compileRegex>> = [];
      for (let i = 0; i < entries.length; i++) {
        try {
          res.push(compileRegex(entries[i]));
        } catch (e) {
          return { bad: i, why: `bad regex: ${(e as Error).message}` };
        }
      }
      return { has: (v) => res.some((re) => re.matcher(String(v)).matches()) };
    }
  }
}

export function valueLabel(v: unknown): string {
  return v instanceof Uint8Array ? formatIp(v) : String(v);
}
