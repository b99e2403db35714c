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
import { TYPE_URLS, enumName, socketAddress, wrapped, type Msg, type Snapshot } from '../engine/types';
import {
  ISTIO_JSON_FORMAT,
  compileAccessLog,
  indexAccessLogs,
  type AccessLogIndex,
  type AccessLogger,
} from './access-log-hook';
import { istioCertFilesToSds } from './istio-cert-files';
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
  /** Istio's cert-file TLS contexts in listeners become SDS `default`/`ROOTCA` (`istioCertFilesToSds`). */
  certFilesToSds?: boolean;
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

/** How local interception binds one listener: at another address, at its own, or as configured. */
type BindDecision = { rebind: string } | 'bind' | 'keep';

/**
 * The binding of each of `listeners`; `context` (listeners applied beside them, e.g. the
 * bootstrap's static ones) counts for the choice of the single inbound listener.
 */
function bindDecisions(listeners: Msg[], b: LocalBindings, context: Msg[] = []): BindDecision[] {
  const all = [...context, ...listeners];
  const inboundCandidates = all.filter(
    (l) =>
      enumName(l['traffic_direction'], ['UNSPECIFIED', 'INBOUND', 'OUTBOUND'], 'UNSPECIFIED') === 'INBOUND' &&
      wrapped<boolean>(l['bind_to_port'], true) === false,
  );
  const hasVirtualInbound = all.some((l) => l['name'] === 'virtualInbound');
  return listeners.map((l) => {
    const name = String(l['name'] ?? '');
    if ((name === 'virtual' || name === 'virtualOutbound') && b.outboundAddress) return { rebind: b.outboundAddress };
    if (name === 'virtualInbound' && b.inboundAddress) return { rebind: b.inboundAddress };
    if (!hasVirtualInbound && b.inboundAddress && inboundCandidates.length === 1 && inboundCandidates[0] === l) {
      return { rebind: b.inboundAddress };
    }
    const mapped = b.portMap?.get(listenerPort(l));
    if (mapped) return { rebind: mapped };
    if (b.bindInboundListeners && inboundCandidates.includes(l)) return 'bind';
    return 'keep';
  });
}

function bindListener(l: Msg, d: BindDecision): Msg {
  if (d === 'keep') return l;
  if (d === 'bind') return { ...l, bind_to_port: { value: true } };
  return rebind(l, d.rebind);
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

/** One listener as this process runs it, kept per raw listener object (see `LocalRewrites`). */
interface RewrittenListener {
  /** What the rewrite depended on besides the raw object; a different key rewrites again. */
  key: string;
  /** What the engine checks and runs. */
  listener: Msg;
  /** False: left out of what the engine runs (`bind_to_port: false` after binding). */
  bound: boolean;
  /** Compiled loggers, in config order, by HCM / TCP proxy stat prefix. */
  accessLogs: Array<{ statPrefix: string; loggers: AccessLogger[] }>;
  /** Access-log errors, paths relative to the listener (`.filter_chains[0]…`). */
  errors: FieldError[];
  /** `http_filters` lists (paths from the listener) that got `count` filters in front. */
  injected: Array<{ path: string; count: number }>;
}

/**
 * Rewritten resources by received object. With the same listener object and the same options,
 * binding and certificate translation, the rewrite returns the same object, so the engine finds
 * the listener it built when the ACK/NACK check ran (or the one it runs) instead of building a
 * copy again; a route configuration turned into HTTPS redirects is likewise the same object on
 * every application (a CDS/EDS update does not compile it again).
 */
export class LocalRewrites {
  readonly listeners = new WeakMap<Msg, RewrittenListener>();
  readonly redirects = new WeakMap<Msg, Msg>();
}

function optionsKey(o: PrepareOptions): string {
  return JSON.stringify([o.nodeId, o.defaultSpanKind, o.tracing, o.defaultAccessLog ?? null, !!o.certFilesToSds]);
}

/** Binds, translates cert files, compiles access logs and injects tracing into each HCM of one listener. */
function rewriteListener(raw: Msg, d: BindDecision, o: PrepareOptions, key: string): RewrittenListener {
  const l = bindListener(o.certFilesToSds ? istioCertFilesToSds(raw) : raw, d);
  const out: RewrittenListener = { key, listener: l, bound: true, accessLogs: [], errors: [], injected: [] };
  if (wrapped<boolean>(l['bind_to_port'], true) === false) {
    out.bound = false;
    return out;
  }
  const errors = out.errors;
  const chains: Msg[] = l['filter_chains'] ?? [];
  let changed: Msg | undefined;
  chains.forEach((chain, ci) => {
    (chain['filters'] ?? []).forEach((f: Msg, fi: number) => {
      const tcp = isTcpProxy(f);
      if (!isHcm(f) && !tcp) return;
      const hcm = (f['typed_config'] ?? {}) as Msg;
      const fpath = `.filter_chains[${ci}].filters[${fi}].typed_config`;
      const loggers: AccessLogger[] = [];
      const configured: Msg[] = hcm['access_log'] ?? [];
      configured.forEach((a, ai) => {
        const logger = compileAccessLog(a, `${fpath}.access_log[${ai}]`, errors);
        if (logger) loggers.push(logger);
      });
      if (configured.length === 0 && o.defaultAccessLog?.path) {
        const dl = o.defaultAccessLog;
        const format =
          dl.encoding === 'JSON' ? { json_format: ISTIO_JSON_FORMAT } : tcp ? { format: ISTIO_TCP_FORMAT } : {};
        const logger = compileAccessLog(
          { name: 'envoy.access_loggers.file', typed_config: { path: dl.path, ...format } },
          fpath,
          errors,
        );
        if (logger) loggers.push(logger);
      }
      if (loggers.length) out.accessLogs.push({ statPrefix: String(hcm['stat_prefix'] ?? ''), loggers });
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
      out.injected.push({ path: `${fpath.slice(1)}.http_filters`, count: added.length });
    });
  });
  if (changed) out.listener = changed;
  return out;
}

/** Each of `listeners` rewritten, through `rewrites` when given (the same object for an unchanged input). */
function rewriteAll(
  listeners: Msg[],
  o: PrepareOptions,
  rewrites?: LocalRewrites,
  context?: Msg[],
): RewrittenListener[] {
  const decisions = bindDecisions(listeners, o.bindings, context);
  const options = optionsKey(o);
  return listeners.map((raw, i) => {
    const d = decisions[i];
    const key = `${options}|${typeof d === 'string' ? d : `rebind ${d.rebind}`}`;
    const hit = rewrites?.listeners.get(raw);
    if (hit && hit.key === key) return hit;
    const r = rewriteListener(raw, d, o, key);
    rewrites?.listeners.set(raw, r);
    return r;
  });
}

/**
 * What the xDS ACK/NACK check hands the engine for an LDS update: each listener as
 * `prepareSnapshot` will give it to the engine (the same objects, through `rewrites`), those left
 * out of what runs as received (still checked, as Envoy does). `errors` are the access-log
 * errors; `userError` turns an engine error about a rewritten listener into the one about the
 * user's listener (`http_filters` indices without the filters the rewrite put in front).
 */
export function prepareListenersForCheck(
  listeners: Msg[],
  o: PrepareOptions,
  rewrites: LocalRewrites,
  context?: Msg[],
): { listeners: Msg[]; errors: FieldError[]; userError: (error: string) => string } {
  const rewritten = rewriteAll(listeners, o, rewrites, context);
  const injected = new Map<string, RewrittenListener['injected']>();
  const checked = rewritten.map((r, i) => {
    const name = String(listeners[i]['name'] ?? '');
    if (!injected.has(name)) injected.set(name, r.injected);
    // A listener bound elsewhere is checked with its own address too: an invalid one is refused.
    if (r.bound && r.listener['address'] !== listeners[i]['address'] && !validAddress(listeners[i]['address'])) {
      return { ...r.listener, address: listeners[i]['address'] };
    }
    return r.listener;
  });
  const userError = (error: string): string => {
    for (const [name, list] of injected) {
      const head = `listener "${name}": `;
      if (!error.startsWith(head)) continue;
      for (const { path, count } of list) {
        const at = `${head}${path}[`;
        if (!error.startsWith(at)) continue;
        const close = error.indexOf(']', at.length);
        const index = Number(error.slice(at.length, close));
        if (close > at.length && Number.isInteger(index) && index >= count) {
          return `${at}${index - count}${error.slice(close)}`;
        }
      }
    }
    return error;
  };
  return { listeners: checked, errors: boundErrors(rewritten), userError };
}

/** `address.socket_address` with a host and a port in 0..65535 (what the engine requires). */
function validAddress(addr: Msg | undefined): boolean {
  const sa = socketAddress(addr);
  return !!sa && sa.host !== '' && sa.port >= 0 && sa.port <= 65535;
}

/** Access-log errors with paths from the list of bound listeners (`listeners[i]…`). */
function boundErrors(rewritten: RewrittenListener[]): FieldError[] {
  return rewritten
    .filter((r) => r.bound)
    .flatMap((r, i) => r.errors.map((e) => ({ path: `listeners[${i}]${e.path}`, message: e.message })));
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

function redirectPlaintext(routes: Msg[], listeners: Msg[], rewrites?: LocalRewrites): Msg[] {
  const use = routeUse(listeners);
  return routes.map((r) => {
    const name = String(r['name'] ?? '');
    const vhosts: Msg[] = r['virtual_hosts'] ?? [];
    const needs = (v: Msg) => enumName(v['require_tls'], REQUIRE_TLS, 'NONE') !== 'NONE';
    if (!use.plain.has(name) || use.tls.has(name) || !vhosts.some(needs)) return r;
    const hit = rewrites?.redirects.get(r);
    if (hit) return hit;
    const out: Msg = {
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
    rewrites?.redirects.set(r, out);
    return out;
  });
}

/**
 * The snapshot this process runs. `rewrites` keeps each rewritten listener and route
 * configuration per received object (the proxy passes the same instance for every push), so an
 * unchanged one comes out as the same object.
 */
export function prepareSnapshot(snapshot: Snapshot, o: PrepareOptions, rewrites?: LocalRewrites): Prepared {
  const accessLogs: AccessLogIndex = new Map();
  // Listeners left with bind_to_port false only receive connections handed over by an
  // original-destination listener (iptables); the engine binds whatever it is given, so they stay
  // out of what it runs (config_dump still shows them).
  const rewritten = rewriteAll(snapshot.listeners, o, rewrites);
  const bound = rewritten.filter((r) => r.bound);
  for (const r of bound) {
    const name = String(r.listener['name'] ?? '');
    for (const { statPrefix, loggers } of r.accessLogs) indexAccessLogs(accessLogs, name, statPrefix, loggers);
  }
  return {
    snapshot: {
      ...snapshot,
      listeners: bound.map((r) => r.listener),
      routes: redirectPlaintext(snapshot.routes, snapshot.listeners, rewrites),
      clusters: pointInboundClustersAtApp(snapshot.clusters, o.bindings.appAddress),
    },
    accessLogs,
    errors: boundErrors(rewritten),
  };
}
