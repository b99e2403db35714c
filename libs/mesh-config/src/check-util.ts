import type { CheckContext } from './kinds';
import { issue } from './schema';
import { hostProblem } from './hosts';
import { re2Problem } from './regex';

/** Helpers shared by the semantic checkers (they read schema-clean, normalized specs). */
export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
export const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v.filter(isObj) as Obj[]) : []);
export const strs = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];

export function invalid(ctx: CheckContext, path: string, detail: string): void {
  ctx.error(issue(path, 'MESH_CONFIG_ERR_INVALID_VALUE', { detail }));
}

export function missing(ctx: CheckContext, path: string): void {
  ctx.error(issue(path, 'MESH_CONFIG_ERR_MISSING_FIELD'));
}

export function checkHost(ctx: CheckContext, path: string, host: string, allowWildcard = true): void {
  const problem = hostProblem(host, { allowWildcard });
  if (problem) ctx.error(issue(path, 'MESH_CONFIG_ERR_INVALID_HOST', { host: JSON.stringify(host), detail: problem }));
}

export function checkRegex(ctx: CheckContext, path: string, m: unknown): void {
  if (!isObj(m) || typeof m['regex'] !== 'string') return;
  const problem = re2Problem(m['regex']);
  if (problem) {
    ctx.error(
      issue(`${path}.regex`, 'MESH_CONFIG_ERR_INVALID_REGEX', { value: JSON.stringify(m['regex']), detail: problem }),
    );
  }
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Subset names, port names: DNS-1123 labels (Istio `labels.IsDNS1123Label`). */
export function checkDnsLabel(ctx: CheckContext, path: string, value: string, what: string): void {
  if (value.length > 63 || !DNS1123_LABEL.test(value)) {
    invalid(ctx, path, `${what} ${JSON.stringify(value)} must be a lower-case DNS-1123 label`);
  }
}

/** Kubernetes label selectors: `prefix/name: value` rules. */
export function checkLabels(ctx: CheckContext, path: string, labels: unknown): void {
  if (!isObj(labels)) return;
  for (const [k, v] of Object.entries(labels)) {
    if (k.length > 316 || !LABEL_NAME.test(k)) invalid(ctx, `${path}.${k}`, `invalid label name ${JSON.stringify(k)}`);
    else if (typeof v === 'string' && (v.length > 63 || !LABEL_VALUE.test(v))) {
      invalid(ctx, `${path}.${k}`, `invalid label value ${JSON.stringify(v)}`);
    }
  }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIp(s: string): boolean {
  return IPV4.test(s) || (s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s));
}

export function isCidrOrIp(s: string): boolean {
  const [ip, bits, extra] = s.split('/');
  if (extra !== undefined || !isIp(ip)) return false;
  if (bits === undefined) return true;
  const max = ip.includes(':') ? 128 : 32;
  return /^\d+$/.test(bits) && Number(bits) <= max;
}

/** `exportTo` entries: `.` (own namespace), `*` (all), `~` (none) or a namespace name. */
export function checkExportTo(ctx: CheckContext, path: string, v: unknown): void {
  strs(v).forEach((ns, i) => {
    if (ns !== '.' && ns !== '*' && ns !== '~' && !DNS1123_LABEL.test(ns)) {
      invalid(ctx, `${path}[${i}]`, `${JSON.stringify(ns)} is not ".", "*", "~" or a namespace name`);
    }
  });
}
