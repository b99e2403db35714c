/**
 * Decodes Istio 1.0's TCP Mixer filter config (`istio.mixer.v1.config.client.TcpClientConfig`,
 * Envoy network filter name `mixer`): static attributes, check/report switches, the transport
 * (check/report cluster, network fail policy with its Check retries) and `report_interval` (default 10 s, as
 * istio/proxy).
 */
import { parseDuration, type FieldError } from '@tsmesh/core';
import type { AttributeValue } from '@tsmesh/attributes';
import type { Msg } from '../../../engine/types';
import { DEFAULT_RETRY_POLICY, parseFailPolicy, readAttributes, type RetryPolicy } from '../../http/mixer/config';

export const TCP_MIXER_NAME = 'mixer';
export const TCP_MIXER_TYPE_URL = 'type.googleapis.com/istio.mixer.v1.config.client.TcpClientConfig';
export const DEFAULT_REPORT_INTERVAL_MS = 10_000;

export interface TcpMixerConfig {
  checkCluster: string;
  reportCluster: string;
  failOpen: boolean;
  /** Check retries (NetworkFailPolicy max_retry / base_retry_wait / max_retry_wait); Reports have none. */
  retry: RetryPolicy;
  disableCheckCache: boolean;
  disableCheck: boolean;
  disableReport: boolean;
  attributes: Record<string, AttributeValue>;
  reportIntervalMs: number;
}

export function parseTcpMixerConfig(m: Msg, path: string, errors: FieldError[]): TcpMixerConfig {
  const t = (m['transport'] ?? {}) as Msg;
  const policy = parseFailPolicy(
    t['network_fail_policy'] as Msg | undefined,
    `${path}.transport.network_fail_policy`,
    errors,
  );
  let reportIntervalMs = DEFAULT_REPORT_INTERVAL_MS;
  if (m['report_interval'] !== undefined && m['report_interval'] !== null) {
    const ms = parseDuration(m['report_interval']);
    if (ms === null || ms <= 0)
      errors.push({ path: `${path}.report_interval`, message: 'must be a positive duration' });
    else reportIntervalMs = ms;
  }
  // Istio 1.0 Pilot never set it; charging quota per connection is not implemented here.
  if (m['connection_quota_spec'] && Object.keys(m['connection_quota_spec'] as Msg).length > 0)
    errors.push({ path: `${path}.connection_quota_spec`, message: 'connection quotas are not supported' });
  return {
    checkCluster: String(t['check_cluster'] ?? ''),
    reportCluster: String(t['report_cluster'] ?? ''),
    // as the HTTP filter: istio/proxy's default without a policy is FAIL_OPEN; Pilot always sends one
    failOpen: policy?.failOpen ?? true,
    retry: policy?.retry ?? { ...DEFAULT_RETRY_POLICY },
    disableCheckCache: t['disable_check_cache'] === true,
    disableCheck: m['disable_check_calls'] === true,
    disableReport: m['disable_report_calls'] === true,
    attributes: readAttributes(m['mixer_attributes'] as Msg | undefined, `${path}.mixer_attributes`, errors),
    reportIntervalMs,
  };
}
