/**
 * envoy.filters.network.tcp_proxy: a byte pipe from the downstream connection to one host of the
 * cluster (single or weighted), with `idle_timeout` (default 1 h), stats under `tcp.<stat_prefix>.`
 * and a StreamInfo (protocol TCP) for access logs when the connection ends. Each side is a soft
 * watermark buffer: the downstream socket has the listener's `per_connection_buffer_limit_bytes`
 * (applied when it was accepted), the upstream one the cluster's, so a side that does not read
 * stops the proxy reading the other once about that many bytes wait for it. Network filters
 * before it in the chain (filters/network) see each downstream chunk first and may hold it, and
 * are told when the connection closes. A cluster with an UpstreamTlsContext (ISTIO_MUTUAL to a TCP
 * service) gets TLS upstream, as the HTTP pools do: SNI, ALPN, secure naming on the peer's SANs and
 * the material current at connect time; nothing is forwarded before the handshake and the peer
 * check pass, and a failed handshake counts as a connect failure (UF).
 */
import net from 'node:net';
import { parseDuration, type FieldError } from '@tsmesh/core';
import { wrapped, type Msg } from '../engine/types';
import type { NetworkFilter } from '../filters/network/types';
import type { DownstreamConnection } from '../filters/types';
import type { HcmRuntime } from '../http/runtime';
import type { StreamInfo } from '../http/stream-info';
import type { Counter, Gauge } from '../stats/store';
import type { Host } from '../upstream/host';
import type { UpstreamTlsOptions } from '../tls/context';
import { UpstreamTlsConnector } from '../tls/upstream-connect';
import { applyBufferLimit } from './socket-helpers';

/** One TLS connector (and so one TLS session cache) per cluster TLS config. */
const connectors = new WeakMap<UpstreamTlsOptions, UpstreamTlsConnector>();
function connectorFor(tls: UpstreamTlsOptions): UpstreamTlsConnector {
  let c = connectors.get(tls);
  if (!c) connectors.set(tls, (c = new UpstreamTlsConnector(tls)));
  return c;
}

export interface TcpProxySettings {
  statPrefix: string;
  clusters: { name: string; weight: number }[];
  idleTimeoutMs: number;
}

export function parseTcpProxy(m: Msg, path: string, errors: FieldError[]): TcpProxySettings {
  const statPrefix = String(m['stat_prefix'] ?? '');
  if (!statPrefix) errors.push({ path: `${path}.stat_prefix`, message: 'stat_prefix is required' });
  let clusters: { name: string; weight: number }[] = [];
  if (m['cluster']) clusters = [{ name: String(m['cluster']), weight: 1 }];
  else if (m['weighted_clusters']) {
    clusters = ((m['weighted_clusters']['clusters'] as Msg[] | undefined) ?? []).map((c) => ({
      name: String(c['name'] ?? ''),
      weight: Number(wrapped(c['weight'], 0)),
    }));
  }
  if (clusters.length === 0)
    errors.push({ path: `${path}.cluster`, message: 'cluster or weighted_clusters is required' });
  const idle = m['idle_timeout'] === undefined ? 3600000 : parseDuration(m['idle_timeout']);
  if (idle === null) errors.push({ path: `${path}.idle_timeout`, message: 'invalid duration' });
  return { statPrefix, clusters, idleTimeoutMs: idle ?? 3600000 };
}

export class TcpProxy {
  private readonly cxTotal: Counter;
  private readonly cxActive: Gauge;
  private readonly noRoute: Counter;
  private readonly idleTimeout: Counter;
  private readonly rxBytes: Counter;
  private readonly txBytes: Counter;

  constructor(
    readonly settings: TcpProxySettings,
    private readonly runtime: HcmRuntime,
    private readonly listenerName: string,
    private readonly filterFactories: readonly (() => NetworkFilter)[] = [],
  ) {
    const p = `tcp.${settings.statPrefix}.`;
    const labels = { tcp_prefix: settings.statPrefix };
    const c = (n: string) => runtime.stats.counter(p + n, { base: `tcp.${n}`, labels });
    this.cxTotal = c('downstream_cx_total');
    this.cxActive = runtime.stats.gauge(p + 'downstream_cx_active', { base: 'tcp.downstream_cx_active', labels });
    this.noRoute = c('downstream_cx_no_route');
    this.idleTimeout = c('idle_timeout');
    this.rxBytes = c('downstream_cx_rx_bytes_total');
    this.txBytes = c('downstream_cx_tx_bytes_total');
  }

  handle(socket: net.Socket, conn: DownstreamConnection): void {
    const { runtime, settings } = this;
    const clock = runtime.clock;
    this.cxTotal.inc();
    this.cxActive.inc();
    let pick = runtime.random.next() * settings.clusters.reduce((s, c) => s + c.weight, 0);
    let name = settings.clusters[0]?.name;
    for (const c of settings.clusters) {
      pick -= c.weight;
      if (pick < 0) {
        name = c.name;
        break;
      }
    }
    const info: StreamInfo = {
      startTime: clock.now(),
      startMono: clock.monotonic(),
      duration: 0,
      protocol: 'TCP',
      method: '',
      path: '',
      authority: '',
      scheme: '',
      requestId: '',
      requestHeaders: {},
      responseCode: 0,
      responseFlags: [],
      bytesReceived: 0,
      bytesSent: 0,
      attemptCount: 0,
      upstreamCluster: name,
      downstreamRemoteAddress: `${conn.remoteAddress}:${conn.remotePort}`,
      downstreamLocalAddress: `${conn.localAddress}:${conn.localPort}`,
      peerIdentity: conn.peerIdentity,
      localIdentity: conn.localIdentity,
      listenerName: this.listenerName,
      statPrefix: settings.statPrefix,
      dynamicMetadata: {},
    };
    const filters = this.filterFactories.map((f) => f());
    const nc: { connection: DownstreamConnection; info: StreamInfo; upstream?: Host } = { connection: conn, info };
    let closed = false;
    const done = () => {
      if (closed) return;
      closed = true;
      this.cxActive.dec();
      info.duration = clock.monotonic() - info.startMono;
      for (const f of filters) {
        try {
          f.onClose?.(nc);
        } catch {
          // filters never break the data path
        }
      }
      for (const h of runtime.streamHooks) {
        try {
          h(info);
        } catch {
          // hooks never break the data path
        }
      }
    };
    const cluster = name ? runtime.cluster(name) : undefined;
    if (!cluster) {
      this.noRoute.inc();
      info.responseFlags.push('NC');
      socket.destroy();
      return done();
    }
    const host = cluster.chooseHost({ hash: undefined }, `${conn.localAddress}:${conn.localPort}`);
    if (!host) {
      cluster.stats.noHealthy.inc();
      info.responseFlags.push('UH');
      socket.destroy();
      return done();
    }
    info.upstreamHost = host.key;
    nc.upstream = host;
    info.attemptCount = 1;
    cluster.stats.cxTotal.inc();
    cluster.stats.cxActive.inc();
    host.cxActive++;
    host.cxTotal++;
    socket.pause();
    const upTls = cluster.settings.tls;
    const up: net.Socket = upTls
      ? connectorFor(upTls).connect(host.address, host.port)
      : net.connect({ host: host.address, port: host.port });
    applyBufferLimit(up, cluster.settings.bufferLimitBytes);
    let connected = false;
    const connectTimer = clock.setTimeout(() => {
      cluster.stats.cxConnectTimeout.inc();
      up.destroy(new Error('connect timeout'));
    }, cluster.settings.connectTimeoutMs);
    const onIdle = () => {
      this.idleTimeout.inc();
      socket.destroy();
      up.destroy();
    };
    let idle = clock.setTimeout(onIdle, settings.idleTimeoutMs);
    const touch = () => {
      idle.cancel();
      idle = clock.setTimeout(onIdle, settings.idleTimeoutMs);
    };
    up.once(upTls ? 'secureConnect' : 'connect', () => {
      connected = true;
      connectTimer.cancel();
      socket.resume();
    });
    const forward = (c: Buffer) => {
      if (!up.write(c)) {
        socket.pause();
        up.once('drain', () => socket.resume());
      }
    };
    // a filter holding data (e.g. Mixer's Check): later chunks queue behind it, in order
    let held: Promise<boolean> | undefined;
    socket.on('data', (c: Buffer) => {
      info.bytesReceived += c.length;
      this.rxBytes.inc(c.length);
      touch();
      for (const f of filters) {
        const hold = f.onData?.(nc, c.length);
        if (hold) held = held ? held.then((ok) => ok && hold) : hold;
      }
      if (!held) return forward(c);
      const gate = held;
      socket.pause();
      void gate.then(
        (ok) => {
          if (held === gate) held = undefined;
          if (!ok) {
            socket.destroy();
            up.destroy();
            return;
          }
          forward(c);
          if (!held) socket.resume();
        },
        () => {
          socket.destroy();
          up.destroy();
        },
      );
    });
    up.on('data', (c: Buffer) => {
      info.bytesSent += c.length;
      this.txBytes.inc(c.length);
      touch();
      if (!socket.write(c)) {
        up.pause();
        socket.once('drain', () => up.resume());
      }
    });
    socket.on('end', () => up.end());
    up.on('end', () => socket.end());
    up.on('error', () => {
      if (!connected) {
        host.cxConnectFail++;
        cluster.stats.cxConnectFail.inc();
        info.responseFlags.push('UF');
      }
    });
    socket.on('error', () => undefined);
    up.once('close', () => {
      connectTimer.cancel();
      idle.cancel();
      cluster.stats.cxActive.dec();
      host.cxActive--;
      socket.destroy();
      done();
    });
    socket.once('close', () => {
      idle.cancel();
      up.destroy();
    });
  }
}
