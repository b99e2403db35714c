/**
 * HttpConnectionManager typed_config (envoy.extensions.filters.network.http_connection_manager.v3)
 * decoded into the settings the connection manager uses. Safe defaults where Envoy's are not:
 * 60 KiB / 100 request headers, path normalization and slash merging on, escaped slashes
 * rejected, request headers timeout 10 s, idle timeout 1 h, 100 concurrent HTTP/2 streams.
 */
import { parseDuration, type FieldError } from '@tsmesh/core';
import { enumName, wrapped, type Msg } from '../engine/types';
import type { EscapedSlashesAction, PathOptions } from './path';

export interface HcmSettings {
  statPrefix: string;
  /** Inline route_config, or the RDS name to look up in the snapshot. */
  routeConfig?: Msg;
  rdsName?: string;
  httpFilters: { name: string; typed: Msg; path: string; disabled: boolean }[];
  generateRequestId: boolean;
  useRemoteAddress: boolean;
  skipXffAppend: boolean;
  /** CIDR-less list of remote address prefixes treated as internal (trusted for x-envoy-*). */
  internalAddresses: string[];
  serverName: string;
  maxRequestHeadersBytes: number;
  maxHeadersCount: number;
  path: PathOptions;
  rejectUnderscoreHeaders: boolean;
  idleTimeoutMs: number;
  requestHeadersTimeoutMs: number;
  requestTimeoutMs: number;
  streamIdleTimeoutMs: number;
  maxConcurrentStreams: number;
  allowConnect: boolean;
  /** `upgrade_configs[].upgrade_type` values other than CONNECT, lower-case (e.g. `websocket`). */
  upgrades: ReadonlySet<string>;
  /** `x-forwarded-client-cert` handling (Istio sets APPEND_FORWARD / SANITIZE_SET). */
  forwardClientCert: string;
}

const ESCAPED = [
  'IMPLEMENTATION_SPECIFIC_DEFAULT',
  'KEEP_UNCHANGED',
  'REJECT_REQUEST',
  'UNESCAPE_AND_REDIRECT',
  'UNESCAPE_AND_FORWARD',
];
const UNDERSCORE = ['ALLOW', 'REJECT_REQUEST', 'DROP_HEADER'];
const FCC = ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'];

export function parseHcm(m: Msg, path: string, errors: FieldError[]): HcmSettings {
  const dur = (v: unknown, field: string, def: number): number => {
    if (v === undefined || v === null) return def;
    const d = parseDuration(v);
    if (d === null) errors.push({ path: `${path}.${field}`, message: 'invalid duration' });
    return d ?? def;
  };
  const statPrefix = String(m['stat_prefix'] ?? '');
  if (!statPrefix) errors.push({ path: `${path}.stat_prefix`, message: 'stat_prefix is required' });
  let routeConfig: Msg | undefined;
  let rdsName: string | undefined;
  if (m['route_config']) routeConfig = m['route_config'];
  else if (m['rds']) rdsName = String(m['rds']['route_config_name'] ?? '');
  else errors.push({ path, message: 'one of route_config or rds is required' });
  const filters = ((m['http_filters'] as Msg[] | undefined) ?? []).map((f, i) => ({
    name: String(f['name'] ?? ''),
    typed: (f['typed_config'] as Msg | undefined) ?? {},
    path: `${path}.http_filters[${i}]`,
    disabled: f['disabled'] === true,
  }));
  if (filters.length === 0 || filters[filters.length - 1].name !== 'envoy.filters.http.router') {
    const last = filters[filters.length - 1];
    const isRouter = last?.typed['@type'] === 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
    if (!isRouter)
      errors.push({ path: `${path}.http_filters`, message: 'the last HTTP filter must be envoy.filters.http.router' });
  }
  const cpo = (m['common_http_protocol_options'] as Msg | undefined) ?? {};
  const escaped = enumName(m['path_with_escaped_slashes_action'], ESCAPED, 'REJECT_REQUEST');
  const maxKb = Number(wrapped(m['max_request_headers_kb'], 60));
  if (!(maxKb > 0 && maxKb <= 8192))
    errors.push({ path: `${path}.max_request_headers_kb`, message: 'must be 1..8192' });
  return {
    statPrefix,
    routeConfig,
    rdsName,
    httpFilters: filters,
    generateRequestId: wrapped(m['generate_request_id'], true) !== false,
    useRemoteAddress: wrapped(m['use_remote_address'], false) === true,
    skipXffAppend: m['skip_xff_append'] === true,
    internalAddresses: ((m['internal_address_config']?.['cidr_ranges'] as Msg[] | undefined) ?? []).map((c) =>
      String(c['address_prefix'] ?? ''),
    ),
    serverName: String(m['server_name'] || 'envoy'),
    maxRequestHeadersBytes: maxKb * 1024,
    maxHeadersCount: Number(wrapped(cpo['max_headers_count'], 100)),
    path: {
      normalize: wrapped(m['normalize_path'], true) !== false,
      mergeSlashes: m['merge_slashes'] === undefined ? true : m['merge_slashes'] !== false,
      escapedSlashes: (escaped === 'IMPLEMENTATION_SPECIFIC_DEFAULT'
        ? 'REJECT_REQUEST'
        : escaped) as EscapedSlashesAction,
    },
    rejectUnderscoreHeaders: enumName(cpo['headers_with_underscores_action'], UNDERSCORE, 'ALLOW') === 'REJECT_REQUEST',
    idleTimeoutMs: dur(cpo['idle_timeout'], 'common_http_protocol_options.idle_timeout', 3600000),
    requestHeadersTimeoutMs: dur(m['request_headers_timeout'], 'request_headers_timeout', 10000),
    requestTimeoutMs: dur(m['request_timeout'], 'request_timeout', 0),
    streamIdleTimeoutMs: dur(m['stream_idle_timeout'], 'stream_idle_timeout', 300000),
    maxConcurrentStreams: Number(wrapped(m['http2_protocol_options']?.['max_concurrent_streams'], 100)),
    allowConnect: ((m['upgrade_configs'] as Msg[] | undefined) ?? []).some((u) => u['upgrade_type'] === 'CONNECT'),
    upgrades: new Set(
      ((m['upgrade_configs'] as Msg[] | undefined) ?? [])
        .filter((u) => u['upgrade_type'] !== 'CONNECT' && wrapped(u['enabled'], true) !== false)
        .map((u) => String(u['upgrade_type']).toLowerCase()),
    ),
    forwardClientCert: enumName(m['forward_client_cert_details'], FCC, 'SANITIZE'),
  };
}
