/**
 * CEXL functions (Istio 1.0 `mixer/pkg/lang/ast/func.go` and its externs):
 * signatures are checked at config time, implementations run per request.
 */
import type { RE2JS } from 're2js';
import { parseDuration } from '@tsmesh/core';
import { parseIp, valueText, type AttributeValue } from '../bag';
import type { ValueType } from '../manifest';

export class EvalError extends Error {}

export interface FunctionSpec {
  /** For methods (`x.startsWith(y)`): the receiver type. */
  target?: ValueType;
  args: ValueType[];
  result: ValueType;
  impl: (...a: never[]) => AttributeValue;
  /** Runs once at compile time when every argument is a literal (e.g. regex compilation). */
  constantFold?: boolean;
}

const regexCache = new Map<string, RE2JS>();
/** RE2 semantics, like Go's regexp; compiled once per distinct pattern. */
export function compileRegex(pattern: string): RE2JS {
  let re = regexCache.get(pattern);
  if (!re) {
    // re2js is loaded on the first regex (a sidecar usually has none; about 0.9 MB of heap, issue #4).
    re = (require('re2js') as typeof import('re2js')).RE2JS.compile(pattern);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

/** Istio's `match`: `prefix*`, `*suffix`, or exact. */
export function globMatch(s: string, pattern: string): boolean {
  if (pattern.endsWith('*')) return s.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return s.endsWith(pattern.slice(1));
  return s === pattern;
}

export function toIp(s: string): Uint8Array {
  const ip = parseIp(s);
  if (!ip) throw new EvalError(`could not convert ${JSON.stringify(s)} to IP_ADDRESS`);
  return ip;
}

export function toTimestamp(s: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) ? new Date(s) : null;
  if (!d || Number.isNaN(d.getTime()))
    throw new EvalError(`could not convert ${JSON.stringify(s)} to TIMESTAMP (RFC 3339)`);
  return d;
}

export function toDuration(s: string): number {
  const ms = parseDuration(s);
  if (ms === null) throw new EvalError(`could not convert ${JSON.stringify(s)} to DURATION`);
  return ms;
}

export function toDnsName(s: string): string {
  if (!/^[A-Za-z0-9*]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(s))
    throw new EvalError(`could not convert ${JSON.stringify(s)} to DNS_NAME`);
  return s;
}

export function toEmail(s: string): string {
  if (!/^[^@\s]+@[^@\s]+$/.test(s)) throw new EvalError(`could not convert ${JSON.stringify(s)} to EMAIL_ADDRESS`);
  return s;
}

export function toUri(s: string): string {
  try {
    new URL(s);
  } catch {
    if (!s.startsWith('/')) throw new EvalError(`could not convert ${JSON.stringify(s)} to URI`);
  }
  return s;
}

const dnsNorm = (s: string) => s.toLowerCase().replace(/\.$/, '');
const emailNorm = (s: string) => {
  const at = s.lastIndexOf('@');
  return at < 0 ? s : s.slice(0, at) + s.slice(at).toLowerCase();
};

/** Equality per type, as the `==` intrinsic and the `*_equal` externs define it. */
export function equalsFor(type: ValueType): (a: AttributeValue, b: AttributeValue) => boolean {
  switch (type) {
    case 'DNS_NAME':
      return (a, b) => dnsNorm(a as string) === dnsNorm(b as string);
    case 'EMAIL_ADDRESS':
      return (a, b) => emailNorm(a as string) === emailNorm(b as string);
    case 'IP_ADDRESS':
      return (a, b) => {
        const x = a as Uint8Array;
        const y = b as Uint8Array;
        if (x.length !== y.length) return false;
        for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
        return true;
      };
    case 'TIMESTAMP':
      return (a, b) => (a as Date).getTime() === (b as Date).getTime();
    case 'STRING_MAP':
      return (a, b) => valueText(a) === valueText(b);
    default:
      return (a, b) => a === b;
  }
}

const EMPTY_MAP: Readonly<Record<string, string>> = Object.freeze({});

export const FUNCTIONS: Record<string, FunctionSpec> = {
  match: { args: ['STRING', 'STRING'], result: 'BOOL', impl: (s: string, p: string) => globMatch(s, p) },
  matches: {
    target: 'STRING',
    args: ['STRING'],
    result: 'BOOL',
    impl: (re: string, s: string) => compileRegex(re).matcher(s).find(),
  },
  startsWith: { target: 'STRING', args: ['STRING'], result: 'BOOL', impl: (s: string, p: string) => s.startsWith(p) },
  endsWith: { target: 'STRING', args: ['STRING'], result: 'BOOL', impl: (s: string, p: string) => s.endsWith(p) },
  toLower: { args: ['STRING'], result: 'STRING', impl: (s: string) => s.toLowerCase() },
  size: { args: ['STRING'], result: 'INT64', impl: (s: string) => s.length },
  ip: { args: ['STRING'], result: 'IP_ADDRESS', impl: toIp, constantFold: true },
  ip_equal: {
    args: ['IP_ADDRESS', 'IP_ADDRESS'],
    result: 'BOOL',
    impl: (a: Uint8Array, b: Uint8Array) => equalsFor('IP_ADDRESS')(a, b),
  },
  timestamp: { args: ['STRING'], result: 'TIMESTAMP', impl: toTimestamp, constantFold: true },
  timestamp_equal: {
    args: ['TIMESTAMP', 'TIMESTAMP'],
    result: 'BOOL',
    impl: (a: Date, b: Date) => a.getTime() === b.getTime(),
  },
  dnsName: { args: ['STRING'], result: 'DNS_NAME', impl: toDnsName, constantFold: true },
  dns_name_equal: {
    args: ['DNS_NAME', 'DNS_NAME'],
    result: 'BOOL',
    impl: (a: string, b: string) => dnsNorm(a) === dnsNorm(b),
  },
  email: { args: ['STRING'], result: 'EMAIL_ADDRESS', impl: toEmail, constantFold: true },
  email_equal: {
    args: ['EMAIL_ADDRESS', 'EMAIL_ADDRESS'],
    result: 'BOOL',
    impl: (a: string, b: string) => emailNorm(a) === emailNorm(b),
  },
  uri: { args: ['STRING'], result: 'URI', impl: toUri, constantFold: true },
  uri_equal: { args: ['URI', 'URI'], result: 'BOOL', impl: (a: string, b: string) => a === b },
  emptyStringMap: { args: [], result: 'STRING_MAP', impl: () => EMPTY_MAP },
};
