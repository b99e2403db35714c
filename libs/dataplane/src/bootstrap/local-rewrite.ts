/**
 * Turns the config Pilot (or the bootstrap) sent into what this process runs, without touching
 * what config_dump shows:
 * - local interception: with no iptables, the capture listeners bind where the flags say
 *   (`virtual`/`virtualOutbound` → --outbound-address, `virtualInbound` or the single inbound
 *   `<podIP>_<port>` listener → --inbound-address, or every inbound listener at its own pod
 *   address with --bind-inbound-listeners), the gateway's ports are mapped
 *   (--port-map 80=127.0.0.1:8080), and `inbound|…` clusters point at --app-address;
 * - listeners still marked `bind_to_port: false` are left out (nothing hands them connections);
 * - tracing: when the bootstrap has a tracer, the tracing filter goes first in every HTTP
 *   connection manager (SERVER span on inbound listeners, CLIENT on outbound);
 * - access logs: each HCM's and TCP proxy's `access_log` (or the mesh default from
 *   --access-log-file; TCP in Istio's TCP format) is compiled and indexed by listener name and
 *   stat prefix;
 * - `require_tls` (Gateway `httpsRedirect`): a virtual host that requires TLS in a route
 *   configuration used only by plaintext filter chains answers every request with Envoy's
 *   301 to `https://` (the engine's route-level `https_redirect`).
 */
import type { FieldError } from '@tsmesh/core';
import type { SpanKind } from '@tsmesh/telemetry';
import { TYPE_URLS, enumName, wrapped, type Msg, type Snapshot } from '../engine/types';
import {
  ISTIO_JSON_FORMAT,
  compileAccessLog,
  indexAccessLogs,
  type AccessLogIndex,
  type AccessLogger,
} from './access-log-hook';
import { RESPONSE_CAPTURE_FILTER_NAME, RESPONSE_CAPTURE_FILTER_TYPE } from './response-capture-filter';
import { TRACING_FILTER_NAME, TRACING_FILTER_TYPE } from './tracing-filter';

const HCM = 'envoy.filters.network.http_connection_manager';

export interface LocalBindings {
  outboundAddress?: string;
  inboundAddress?: string;
  appAddress?: string;
  /** Listener port → `host:port` to bind instead (gateway: 80 → 127.0.0.1:8080). */
  portMap?: ReadonlyMap<number, string>;
  /**
   * Bind inbound `<podIP>_<port>` listeners (bind_to_port false) at their own address, so peers
   * reach them at the endpoint address Pilot publishes (local mode with one loopback IP per pod).
   */
  bindInboundListeners?: boolean;
}

export interface PrepareOptions {
  bindings: LocalBindings;
  nodeId: string;
  /** Span kind for listeners without `traffic_direction` (router: CLIENT, sidecar: SERVER). */
  defaultSpanKind: SpanKind;
  tracing: boolean;
  /** Mesh-wide access log (`accessLogFile`), used by HCMs that configure none. */
  defaultAccessLog?: { path: string; encoding: 'TEXT' | 'JSON' };
}

export interface Prepared {
  snapshot: Snapshot;
  accessLogs: AccessLogIndex;
  errors: FieldError[];
}

function splitHostPort(v: string): { address: string; port_value: number } {
  const i = v.lastIndexOf(':');
  return { address: v.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port_value: Number(v.slice(i + 1)) };
}

const clone = <T>(v: T): T => structuredClone(v);
const isHcm = (f: Msg) => f['name'] === HCM || f['typed_config']?.['@type'] === TYPE_URLS.hcm;
const isTcpProxy = (f: Msg) =>
  f['name'] === 'envoy.filters.network.tcp_proxy' || f['typed_config']?.['@type'] === TYPE_URLS.tcpProxy;

/** Istio's TCP access-log format (1.0.x `EnvoyTCPLogFormat`). */
export const ISTIO_TCP_FORMAT =
  '[%START_TIME%] %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% ' +
  '%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%\n';

function rebind(l: Msg, address: string): Msg {
  return { ...l, address: { socket_address: splitHostPort(address) }, bind_to_port: { value: true } };
}

function listenerPort(l: Msg): number {
  return Number(l['address']?.['socket_address']?.['port_value'] ?? -1);
}

function bindListeners(listeners: Msg[], b: LocalBindings): Msg[] {
  const inboundCandidates = listeners.filter(
    (l) =>
      enumName(l['traffic_direction'], ['UNSPECIFIED', 'INBOUND', 'OUTBOUND'], 'UNSPECIFIED') === 'INBOUND' &&
      wrapped<boolean>(l['bind_to_port'], true) === false,
  );
  const hasVirtualInbound = listeners.some((l) => l['name'] === 'virtualInbound');
  return listeners.map((l) => {
    const name = String(l['name'] ?? '');
    if ((name === 'virtual' || name === 'virtualOutbound') && b.outboundAddress) return rebind(l, b.outboundAddress);
    if (name === 'virtualInbound' && b.inboundAddress) return rebind(l, b.inboundAddress);
    if (!hasVirtualInbound && b.inboundAddress && inboundCandidates.length === 1 && inboundCandidates[0] === l) {
      return rebind(l, b.inboundAddress);
    }
    const mapped = b.portMap?.get(listenerPort(l));
    if (mapped) return rebind(l, mapped);
    if (b.bindInboundListeners && inboundCandidates.includes(l)) return { ...l, bind_to_port: { value: true } };
    return l;
  });
}

function pointInboundClustersAtApp(clusters: Msg[], appAddress: string | undefined): Msg[] {
  if (!appAddress) return clusters;
  const socket = splitHostPort(appAddress);
  return clusters.map((c) => {
    if (!String(c['name'] ?? '').startsWith('inbound|') || !c['load_assignment']) return c;
    const out = clone(c);
    for (const loc of out['load_assignment']['endpoints'] ?? []) {
      for (const lb of loc['lb_endpoints'] ?? []) {
        if (lb['endpoint']?.['address']?.['socket_address'])
          lb['endpoint']['address'] = { socket_address: { ...socket } };
      }
    }
    return out;
  });
}

function spanKind(l: Msg, fallback: SpanKind): SpanKind {
  const d = enumName(l['traffic_direction'], ['UNSPECIFIED', 'INBOUND', 'OUTBOUND'], 'UNSPECIFIED');
  return d === 'INBOUND' ? 'SERVER' : d === 'OUTBOUND' ? 'CLIENT' : fallback;
}

/** Compiles access logs and injects tracing into each HCM of one listener. */
function prepareListener(l: Msg, o: PrepareOptions, index: AccessLogIndex, errors: FieldError[], path: string): Msg {
  const chains: Msg[] = l['filter_chains'] ?? [];
  let changed: Msg | undefined;
  chains.forEach((chain, ci) => {
    (chain['filters'] ?? []).forEach((f: Msg, fi: number) => {
      const tcp = isTcpProxy(f);
      if (!isHcm(f) && !tcp) return;
      const hcm = (f['typed_config'] ?? {}) as Msg;
      const fpath = `${path}.filter_chains[${ci}].filters[${fi}].typed_config`;
      const loggers: AccessLogger[] = [];
      const configured: Msg[] = hcm['access_log'] ?? [];
      configured.forEach((a, ai) => {
        const logger = compileAccessLog(a, `${fpath}.access_log[${ai}]`, errors);
        if (logger) loggers.push(logger);
      });
      if (configured.length === 0 && o.defaultAccessLog?.path) {
        const d = o.defaultAccessLog;
        const format =
          d.encoding === 'JSON' ? { json_format: ISTIO_JSON_FORMAT } : tcp ? { format: ISTIO_TCP_FORMAT } : {};
        const logger = compileAccessLog(
          { name: 'envoy.access_loggers.file', typed_config: { path: d.path, ...format } },
          fpath,
          errors,
        );
        if (logger) loggers.push(logger);
      }
      if (loggers.length) {
        indexAccessLogs(index, String(l['name'] ?? ''), String(hcm['stat_prefix'] ?? ''), loggers);
      }
      if (tcp || (!o.tracing && !loggers.length)) return;
      changed ??= clone(l);
      const target = changed['filter_chains'][ci]['filters'][fi]['typed_config'] as Msg;
      const added: Msg[] = [];
      if (loggers.length) {
        added.push({ name: RESPONSE_CAPTURE_FILTER_NAME, typed_config: { '@type': RESPONSE_CAPTURE_FILTER_TYPE } });
      }
      if (o.tracing) {
        const sampling = target['tracing']?.['random_sampling']?.['value'];
        added.push({
          name: TRACING_FILTER_NAME,
          typed_config: {
            '@type': TRACING_FILTER_TYPE,
            kind: spanKind(l, o.defaultSpanKind),
            node_id: o.nodeId,
            ...(typeof sampling === 'number' ? { sampling_percent: sampling } : {}),
          },
        });
      }
      target['http_filters'] = [...added, ...(target['http_filters'] ?? [])];
    });
  });
  return changed ?? l;
}

/** RDS names used by plaintext chains and by TLS chains. */
function routeUse(listeners: Msg[]): { plain: Set<string>; tls: Set<string> } {
  const plain = new Set<string>();
  const tls = new Set<string>();
  for (const l of listeners) {
    for (const chain of [
      ...(l['filter_chains'] ?? []),
      ...(l['default_filter_chain'] ? [l['default_filter_chain']] : []),
    ]) {
      for (const f of chain['filters'] ?? []) {
        const name = isHcm(f) ? f['typed_config']?.['rds']?.['route_config_name'] : undefined;
        if (typeof name === 'string' && name) (chain['transport_socket'] ? tls : plain).add(name);
      }
    }
  }
  return { plain, tls };
}

const REQUIRE_TLS = ['NONE', 'EXTERNAL_ONLY', 'ALL'];

function redirectPlaintext(routes: Msg[], listeners: Msg[]): Msg[] {
  const use = routeUse(listeners);
  return routes.map((r) => {
    const name = String(r['name'] ?? '');
    const vhosts: Msg[] = r['virtual_hosts'] ?? [];
    const needs = (v: Msg) => enumName(v['require_tls'], REQUIRE_TLS, 'NONE') !== 'NONE';
    if (!use.plain.has(name) || use.tls.has(name) || !vhosts.some(needs)) return r;
    return {
      ...r,
      virtual_hosts: vhosts.map((v) => {
        if (!needs(v)) return v;
        const { require_tls: _drop, ...rest } = v;
        return {
          ...rest,
          routes: [{ name: 'require_tls', match: { prefix: '/' }, redirect: { https_redirect: true } }],
        };
      }),
    };
  });
}

export function prepareSnapshot(snapshot: Snapshot, o: PrepareOptions): Prepared {
  const errors: FieldError[] = [];
  const accessLogs: AccessLogIndex = new Map();
  // Listeners left with bind_to_port false only receive connections handed over by an
  // original-destination listener (iptables); the engine binds whatever it is given, so they stay
  // out of what it runs (config_dump still shows them).
  const bound = bindListeners(snapshot.listeners, o.bindings).filter(
    (l) => wrapped<boolean>(l['bind_to_port'], true) !== false,
  );
  const listeners = bound.map((l, i) => prepareListener(l, o, accessLogs, errors, `listeners[${i}]`));
  return {
    snapshot: {
      ...snapshot,
      listeners,
      routes: redirectPlaintext(snapshot.routes, snapshot.listeners),
      clusters: pointInboundClustersAtApp(snapshot.clusters, o.bindings.appAddress),
    },
    accessLogs,
    errors,
  };
}
