/**
 * Decodes Istio 1.0's Mixer filter config (`istio.mixer.v1.config.client.HttpClientConfig`,
 * Envoy filter name `mixer`) and its per-route `ServiceConfig`: static attributes,
 * per-service check/report switches, quota specs, transport (check/report
 * cluster, network fail policy with Istio 1.1's Check retry fields).
 */
import { parseDuration, type FieldError } from '@tsmesh/core';
import type { AttributeValue } from '@tsmesh/attributes';
import { enumName, type Msg } from '../../../engine/types';

export const MIXER_NAME = 'mixer';
export const MIXER_TYPE_URL = 'type.googleapis.com/istio.mixer.v1.config.client.HttpClientConfig';
export const MIXER_SERVICE_CONFIG_TYPE_URL = 'type.googleapis.com/istio.mixer.v1.config.client.ServiceConfig';

export interface QuotaRef {
  quota: string;
  charge: number;
}

export interface QuotaRuleMatch {
  /** attribute name → exact/prefix/regex; all must match (a clause). */
  clause: Array<{ name: string; exact?: string; prefix?: string; regex?: RegExp }>;
}

export interface ServiceSettings {
  disableCheck: boolean;
  disableReport: boolean;
  attributes: Record<string, AttributeValue>;
  forwardAttributes: Record<string, AttributeValue>;
  quotaRules: Array<{ match: QuotaRuleMatch[]; quotas: QuotaRef[] }>;
  /** Overrides the transport's fail policy when set. */
  failOpen?: boolean;
}

/**
 * Retries of a failed Check call (NetworkFailPolicy `max_retry`, `base_retry_wait`,
 * `max_retry_wait`; istio/proxy's CheckOptions). Retry n (0-based) waits a whole number of ms drawn
 * uniformly from [baseRetryMs, min(maxRetryMs, baseRetryMs·2ⁿ)].
 */
export interface RetryPolicy {
  maxRetry: number;
  baseRetryMs: number;
  maxRetryMs: number;
}

/** istio/proxy's defaults when the fields are absent: no retries, waits from 80 ms up to 1 s. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxRetry: 0,
  baseRetryMs: 80,
  maxRetryMs: 1000,
});

export interface FailPolicy {
  failOpen: boolean;
  retry: RetryPolicy;
}

export interface MixerConfig {
  checkCluster: string;
  reportCluster: string;
  failOpen: boolean;
  /** Check (and the quota asks it carries) only: Reports are never retried, as in istio/proxy. */
  retry: RetryPolicy;
  disableCheckCache: boolean;
  disableQuotaCache: boolean;
  disableReportBatch: boolean;
  services: ReadonlyMap<string, ServiceSettings>;
  defaultDestinationService: string;
  attributes: Record<string, AttributeValue>;
  forwardAttributes: Record<string, AttributeValue>;
}

/** istio.mixer.v1.Attributes object form → plain attribute values. */
export function readAttributes(m: Msg | undefined, path: string, errors: FieldError[]): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  const attrs = (m?.['attributes'] ?? {}) as Record<string, Msg>;
  for (const [name, v] of Object.entries(attrs)) {
    if (v['string_value'] !== undefined) out[name] = String(v['string_value']);
    else if (v['int64_value'] !== undefined) out[name] = Number(v['int64_value']);
    else if (v['double_value'] !== undefined) out[name] = Number(v['double_value']);
    else if (v['bool_value'] !== undefined) out[name] = Boolean(v['bool_value']);
    else if (v['bytes_value'] !== undefined) out[name] = new Uint8Array(v['bytes_value'] as Uint8Array);
    else if (v['timestamp_value'] !== undefined) {
      const t = v['timestamp_value'] as { seconds?: number; nanos?: number };
      out[name] = new Date(Number(t.seconds ?? 0) * 1000 + Number(t.nanos ?? 0) / 1e6);
    } else if (v['duration_value'] !== undefined) {
      const d = v['duration_value'] as { seconds?: number; nanos?: number };
      out[name] = Number(d.seconds ?? 0) * 1000 + Number(d.nanos ?? 0) / 1e6;
    } else if (v['string_map_value'] !== undefined) {
      out[name] = { ...((v['string_map_value'] as Msg)['entries'] ?? {}) } as Record<string, string>;
    } else errors.push({ path: `${path}.attributes.${name}`, message: 'attribute value has no value' });
  }
  return out;
}

const UINT32_MAX = 0xffff_ffff;
// istio/proxy caps a wait's seconds at one day before turning it into whole milliseconds
const MAX_WAIT_MS = 24 * 60 * 60 * 1000;

function retryWaitMs(v: unknown, path: string, errors: FieldError[]): number | undefined {
  if (v === undefined || v === null) return undefined;
  const ms = parseDuration(v);
  if (ms === null) {
    errors.push({ path, message: 'must be a non-negative duration' });
    return undefined;
  }
  return Math.min(MAX_WAIT_MS, Math.floor(ms));
}

/**
 * NetworkFailPolicy: `policy` (absent policy message → undefined, the caller's default) and the
 * retry fields, validated by field path. A max_retry_wait below base_retry_wait (given or
 * defaulted) is refused: the wait would have no range to be drawn from.
 */
export function parseFailPolicy(p: Msg | undefined, path: string, errors: FieldError[]): FailPolicy | undefined {
  if (!p) return undefined;
  const failOpen = enumName(p['policy'], ['FAIL_OPEN', 'FAIL_CLOSE'], 'FAIL_OPEN') === 'FAIL_OPEN';
  const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  const n = p['max_retry'];
  if (n !== undefined && n !== null) {
    const v = typeof n === 'string' && n.trim() !== '' ? Number(n) : n;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > UINT32_MAX)
      errors.push({ path: `${path}.max_retry`, message: 'must be an integer from 0 to 4294967295' });
    else retry.maxRetry = v;
  }
  const base = retryWaitMs(p['base_retry_wait'], `${path}.base_retry_wait`, errors);
  const max = retryWaitMs(p['max_retry_wait'], `${path}.max_retry_wait`, errors);
  if (base !== undefined) retry.baseRetryMs = base;
  if (max !== undefined) retry.maxRetryMs = max;
  if (retry.maxRetryMs < retry.baseRetryMs) {
    const field = max !== undefined ? 'max_retry_wait' : 'base_retry_wait';
    errors.push({
      path: `${path}.${field}`,
      message: `max_retry_wait (${retry.maxRetryMs}ms) must not be less than base_retry_wait (${retry.baseRetryMs}ms)`,
    });
  }
  return { failOpen, retry };
}

export function parseServiceConfig(m: Msg, path: string, errors: FieldError[]): ServiceSettings {
  const quotaRules: ServiceSettings['quotaRules'] = [];
  ((m['quota_spec'] as Msg[] | undefined) ?? []).forEach((spec, i) => {
    ((spec['rules'] as Msg[] | undefined) ?? []).forEach((rule, j) => {
      const p = `${path}.quota_spec[${i}].rules[${j}]`;
      const match: QuotaRuleMatch[] = ((rule['match'] as Msg[] | undefined) ?? []).map((am, k) => ({
        clause: Object.entries((am['clause'] as Record<string, Msg> | undefined) ?? {}).map(([name, sm]) => {
          let regex: RegExp | undefined;
          if (sm['regex'] !== undefined) {
            try {
              regex = new RegExp(`^(?:${String(sm['regex'])})$`);
            } catch (e) {
              errors.push({ path: `${p}.match[${k}].clause.${name}.regex`, message: (e as Error).message });
            }
          }
          return { name, exact: sm['exact'] as string | undefined, prefix: sm['prefix'] as string | undefined, regex };
        }),
      }));
      const quotas = ((rule['quotas'] as Msg[] | undefined) ?? []).map((q, k) => {
        if (!q['quota']) errors.push({ path: `${p}.quotas[${k}].quota`, message: 'required' });
        return { quota: String(q['quota'] ?? ''), charge: Number(q['charge'] ?? 0) || 1 };
      });
      quotaRules.push({ match, quotas });
    });
  });
  return {
    disableCheck: m['disable_check_calls'] === true,
    disableReport: m['disable_report_calls'] === true,
    attributes: readAttributes(m['mixer_attributes'] as Msg | undefined, `${path}.mixer_attributes`, errors),
    forwardAttributes: readAttributes(m['forward_attributes'] as Msg | undefined, `${path}.forward_attributes`, errors),
    quotaRules,
    // istio/proxy reads only the transport's retry fields; a service's are checked, not used
    failOpen: parseFailPolicy(m['network_fail_policy'] as Msg | undefined, `${path}.network_fail_policy`, errors)
      ?.failOpen,
  };
}

export function parseMixerConfig(m: Msg, path: string, errors: FieldError[]): MixerConfig {
  const t = (m['transport'] ?? {}) as Msg;
  const services = new Map<string, ServiceSettings>();
  for (const [name, sc] of Object.entries((m['service_configs'] as Record<string, Msg> | undefined) ?? {}))
    services.set(name, parseServiceConfig(sc, `${path}.service_configs.${name}`, errors));
  const policy = parseFailPolicy(
    t['network_fail_policy'] as Msg | undefined,
    `${path}.transport.network_fail_policy`,
    errors,
  );
  const def = String(m['default_destination_service'] ?? '');
  if (def && !services.has(def))
    errors.push({ path: `${path}.default_destination_service`, message: `no service_configs entry named ${def}` });
  return {
    checkCluster: String(t['check_cluster'] ?? ''),
    reportCluster: String(t['report_cluster'] ?? ''),
    // Istio's proxy default when no policy is given is FAIL_OPEN; Pilot always sends one (FAIL_CLOSE unless policyCheckFailOpen).
    failOpen: policy?.failOpen ?? true,
    retry: policy?.retry ?? { ...DEFAULT_RETRY_POLICY },
    disableCheckCache: t['disable_check_cache'] === true,
    disableQuotaCache: t['disable_quota_cache'] === true,
    disableReportBatch: t['disable_report_batch'] === true,
    services,
    defaultDestinationService: def,
    attributes: readAttributes(m['mixer_attributes'] as Msg | undefined, `${path}.mixer_attributes`, errors),
    forwardAttributes: readAttributes(m['forward_attributes'] as Msg | undefined, `${path}.forward_attributes`, errors),
  };
}
