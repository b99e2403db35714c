/**
 * Listener resource → runtime filter chains: network filters (HttpConnectionManager or
 * TcpProxy, Envoy names and type URLs), DownstreamTlsContext transport sockets and
 * filter_chain_match (every FilterChainMatch criterion; see listeners/chain-match.ts) and the
 * tls_inspector listener filter.
 */
import { parseDuration, type FieldError } from '@tsmesh/core';
import type { NetworkFilter } from '../filters/network/types';
import type { FilterRegistry } from '../filters/types';
import { buildConnectionManager } from '../http/connection-manager';
import type { HcmRuntime } from '../http/runtime';
import type { FilterChainRuntime, ListenerChains } from '../listeners/listener';
import { parseBufferLimit } from '../listeners/socket-helpers';
import { parseTcpProxy, TcpProxy } from '../listeners/tcp-proxy';
import { parseChainMatch } from './chain-match-config';
import type { CertificateProvider } from '../tls/certificate-provider';
import { resolveCommonTls, type SecretLookup } from '../tls/context';
import { socketAddress, TYPE_URLS, type Msg } from './types';

export interface ListenerBuildContext {
  runtime: HcmRuntime;
  registry: FilterRegistry;
  secrets: SecretLookup;
  provider?: CertificateProvider;
}

export interface BuiltListener {
  name: string;
  host: string;
  port: number;
  chains: ListenerChains;
  limits: { maxHeaderBytes: number; headersTimeoutMs: number; maxConcurrentStreams: number; idleTimeoutMs: number };
}

const HCM_NAMES = new Set(['envoy.filters.network.http_connection_manager', 'envoy.http_connection_manager']);
const TLS_INSPECTOR_NAMES = new Set(['envoy.filters.listener.tls_inspector', 'envoy.listener.tls_inspector']);
const TLS_INSPECTOR_TYPE = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
const TCP_NAMES = new Set(['envoy.filters.network.tcp_proxy', 'envoy.tcp_proxy']);

function buildChain(
  fc: Msg,
  path: string,
  listenerName: string,
  ctx: ListenerBuildContext,
  errors: FieldError[],
  limits: BuiltListener['limits'],
  listenerKey: string,
): FilterChainRuntime {
  const filters = (fc['filters'] as Msg[] | undefined) ?? [];
  const match = (fc['filter_chain_match'] as Msg | undefined) ?? {};
  let hcm: FilterChainRuntime['hcm'];
  let tcp: FilterChainRuntime['tcp'];
  const network: (() => NetworkFilter)[] = [];
  filters.forEach((f, i) => {
    const typed = (f['typed_config'] as Msg | undefined) ?? {};
    const t = typed['@type'];
    const fp = `${path}.filters[${i}]`;
    if (t === TYPE_URLS.hcm || (!t && HCM_NAMES.has(String(f['name'])))) {
      hcm = buildConnectionManager(typed, `${fp}.typed_config`, ctx.runtime, listenerName, ctx.registry, errors);
      limits.maxHeaderBytes = Math.max(limits.maxHeaderBytes, hcm.settings.maxRequestHeadersBytes);
      limits.headersTimeoutMs = hcm.settings.requestHeadersTimeoutMs || limits.headersTimeoutMs;
      limits.maxConcurrentStreams = hcm.settings.maxConcurrentStreams;
      limits.idleTimeoutMs = hcm.settings.idleTimeoutMs;
    } else if (t === TYPE_URLS.tcpProxy || (!t && TCP_NAMES.has(String(f['name'])))) {
      tcp = new TcpProxy(parseTcpProxy(typed, `${fp}.typed_config`, errors), ctx.runtime, listenerName, network);
    } else {
      // a network filter before tcp_proxy (e.g. Istio's TCP `mixer` filter)
      const factory =
        i < filters.length - 1 ? ctx.registry.lookupNetwork(String(f['name']), t as string | undefined) : undefined;
      if (factory) {
        const config = factory.parseConfig(typed, `${fp}.typed_config`, errors);
        network.push(
          factory.create(config, {
            statPrefix: listenerName,
            stats: ctx.runtime.stats,
            clock: ctx.runtime.clock,
            random: ctx.runtime.random,
            logger: ctx.runtime.logger,
            nodeId: ctx.runtime.nodeId,
            filterName: String(f['name'] ?? factory.name),
          }),
        );
      } else if (i < filters.length - 1) {
        // Non-terminal network filters we do not implement (e.g. Istio's authn network filter) are skipped.
        ctx.runtime.logger.debug(
          { listener: listenerName, filter: f['name'] },
          'network filter not implemented; skipped',
        );
      } else {
        errors.push({ path: `${fp}.name`, message: `unsupported terminal network filter "${String(f['name'])}"` });
      }
    }
  });
  if (!hcm && !tcp)
    errors.push({ path: `${path}.filters`, message: 'a filter chain needs http_connection_manager or tcp_proxy' });
  let tlsCtx: FilterChainRuntime['tls'] = null;
  const ts = fc['transport_socket'] as Msg | undefined;
  if (
    ts &&
    (ts['name'] === 'envoy.transport_sockets.tls' || ts['typed_config']?.['@type'] === TYPE_URLS.downstreamTls)
  ) {
    tlsCtx = resolveCommonTls(
      ts['typed_config'] ?? {},
      `${path}.transport_socket.typed_config`,
      errors,
      ctx.secrets,
      ctx.provider,
    );
  }
  return {
    name: String(fc['name'] ?? ''),
    key: `${listenerKey}|${JSON.stringify(fc)}`,
    match: parseChainMatch(match, `${path}.filter_chain_match`, errors),
    tls: tlsCtx,
    hcm,
    tcp,
  };
}

/** `listener_filters_timeout` (Duration; unset = Envoy's 15 s, 0 = no timeout). */
function filtersTimeout(v: unknown, errors: FieldError[]): number | undefined {
  if (v === undefined || v === null) return undefined;
  const ms = parseDuration(v);
  if (ms === null) errors.push({ path: 'listener_filters_timeout', message: 'not a duration' });
  return ms ?? undefined;
}

export function buildListener(m: Msg, ctx: ListenerBuildContext, errors: FieldError[]): BuiltListener {
  const name = String(m['name'] ?? '');
  if (!name) errors.push({ path: 'name', message: 'listener name is required' });
  const sa = socketAddress(m['address']);
  if (!sa || !sa.host) errors.push({ path: 'address.socket_address', message: 'address and port_value are required' });
  else if (!(sa.port >= 0 && sa.port <= 65535))
    errors.push({ path: 'address.socket_address.port_value', message: 'must be 0..65535' });
  const limits = {
    maxHeaderBytes: 60 * 1024,
    headersTimeoutMs: 10000,
    maxConcurrentStreams: 100,
    idleTimeoutMs: 3600000,
  };
  // Listener-level settings are part of every chain's identity: changing them replaces them all.
  const listenerKey = JSON.stringify({ ...m, filter_chains: undefined, default_filter_chain: undefined });
  const chains = ((m['filter_chains'] as Msg[] | undefined) ?? []).map((fc, i) =>
    buildChain(fc, `filter_chains[${i}]`, name, ctx, errors, limits, listenerKey),
  );
  const defaultChain = m['default_filter_chain']
    ? buildChain(m['default_filter_chain'], 'default_filter_chain', name, ctx, errors, limits, `${listenerKey}|default`)
    : undefined;
  if (chains.length === 0 && !defaultChain)
    errors.push({ path: 'filter_chains', message: 'at least one filter chain is required' });
  const listenerFilters = (m['listener_filters'] as Msg[] | undefined) ?? [];
  const tlsInspector = listenerFilters.some(
    (f) => TLS_INSPECTOR_NAMES.has(String(f['name'])) || f['typed_config']?.['@type'] === TLS_INSPECTOR_TYPE,
  );
  return {
    name,
    host: sa?.host ?? '',
    port: sa?.port ?? 0,
    chains: {
      chains,
      defaultChain,
      tlsInspector,
      filtersTimeoutMs: filtersTimeout(m['listener_filters_timeout'], errors),
      continueOnFiltersTimeout: m['continue_on_listener_filters_timeout'] === true,
      bufferLimitBytes: parseBufferLimit(
        m['per_connection_buffer_limit_bytes'],
        'per_connection_buffer_limit_bytes',
        errors,
      ),
    },
    limits,
  };
}
