/**
 * Istio's TCP Mixer filter (istio/proxy `src/envoy/tcp/mixer` and `control/tcp`): on the first
 * downstream bytes a Check (unless disabled; answered from the check cache when Mixer's earlier
 * answer still applies) holds the connection's data; a denial closes the connection, and when
 * Mixer cannot be reached the network fail policy decides. After an OK check the filter reports
 * `connection.event: open`, then `continue` every `report_interval`, then `close` when the
 * connection ends, each with `connection.received.bytes` / `connection.sent.bytes` (the bytes
 * since the previous report), their `_total`s, and on close `connection.duration`. Reports go
 * through the same batcher as the HTTP filter's. Counters are istio/proxy's, under
 * `tcp_mixer_filter.`.
 *
 * One difference: upstream does not move the byte baseline at `open`, so bytes that arrived
 * before the open report are counted again at the next one; here every report's deltas are
 * since the previous report, so `istio_tcp_*_bytes_total` add up to the bytes that passed.
 */
import { randomUUID } from 'node:crypto';
import { GLOBAL_WORDS, MutableBag, parseIp } from '@tsmesh/attributes';
import { GrpcStatus, type TimerHandle } from '@tsmesh/core';
import { decodeReferenced, type WireReferenced } from '../../http/mixer/check-cache';
import { encodeCheckRequestFromBag } from '../../http/mixer/check-codec';
import { Clients, defaultResolveCluster } from '../../http/mixer/filter';
import type { ReportBatchOptions } from '../../http/mixer/report-batch';
import { addDestinationFromCluster } from '../../http/mixer/request-attributes';
import { mixerStats } from '../../http/mixer/stats';
import { TransportError, type TransportOptions } from '../../http/mixer/transport';
import type { FilterFactoryContext } from '../../types';
import type { NetworkConnection, NetworkFilter } from '../types';
import type { TcpMixerConfig } from './config';

export interface TcpMixerDeps {
  /** check_cluster / report_cluster → `host:port` (the proxy resolves them to the cluster's endpoints). */
  resolveCluster?(name: string): string | undefined;
  transport?: Partial<TransportOptions>;
  reportBatch?: Partial<ReportBatchOptions>;
  checkCacheSize?: number;
}

export interface TcpMixerHandle {
  create(config: TcpMixerConfig, ctx: FilterFactoryContext): () => NetworkFilter;
  /** Flushes queued reports and closes the Mixer connections. */
  close(): Promise<void>;
}

interface CheckAnswer {
  precondition?: {
    status?: { code?: number; message?: string };
    valid_duration?: { seconds?: number; nanos?: number };
    valid_use_count?: number;
    referenced_attributes?: WireReferenced;
  };
}

// Istio's connection.id is `<uuid>-<connection id>`: one uuid per proxy process.
const PROCESS_UUID = randomUUID();
let connectionSeq = 0;
const dedupPrefix = `tcp-${process.pid}-${Date.now().toString(36)}-`;
let dedupSeq = 0;

/** `spiffe://<domain>/ns/<ns>/sa/<sa>` → `<domain>/ns/<ns>/sa/<sa>`, as Istio's source.principal. */
const principal = (id: string | undefined) => (id ? id.replace(/^spiffe:\/\//, '') : undefined);

/** The attributes Check sees (istio/proxy `control/tcp/attributes_builder.cc` ExtractCheckAttributes). */
export function connectionBag(conn: NetworkConnection, config: TcpMixerConfig, now: number, id: string): MutableBag {
  const bag = MutableBag.from(config.attributes);
  const c = conn.connection;
  const ip = parseIp(c.remoteAddress.replace(/^::ffff:/, ''));
  if (ip) {
    bag.set('source.ip', ip);
    bag.set('origin.ip', ip);
  }
  const sp = principal(c.peerIdentity);
  if (sp) {
    bag.set('source.user', sp);
    bag.set('source.principal', sp);
    const ns = /\/ns\/([^/]+)\//.exec(sp)?.[1];
    if (ns) bag.set('source.namespace', ns);
  }
  const dp = principal(c.localIdentity);
  if (dp) bag.set('destination.principal', dp);
  bag.set('connection.mtls', c.tls && !!c.peerIdentity);
  if (c.sni) bag.set('connection.requested_server_name', c.sni);
  bag.set('context.time', new Date(now));
  bag.set('context.protocol', 'tcp');
  bag.set('connection.id', id);
  return bag;
}

type Event = 'open' | 'continue' | 'close';

export function createTcpMixerFactory(deps: TcpMixerDeps = {}): TcpMixerHandle {
  // transports, check caches and report batchers per Mixer address, as the HTTP filter keeps them
  const clients = new Clients(deps);
  const resolve = deps.resolveCluster ?? defaultResolveCluster;
  return {
    close: () => clients.close(),
    create(config, ctx) {
      const stats = mixerStats(ctx.stats, 'tcp_mixer_filter.');
      const clock = ctx.clock;

      /** Resolves to the check status (OK = 0); fail policy applied for transport errors. */
      const check = async (bag: MutableBag): Promise<{ code: number; message: string }> => {
        stats.checkCalls.inc();
        const addr = resolve(config.checkCluster);
        const cache = addr && !config.disableCheckCache ? clients.cache(addr) : null;
        const hit = cache?.lookup(bag, clock.now());
        if (hit) {
          stats.checkCacheHits.inc();
          return hit;
        }
        if (cache) stats.checkCacheMisses.inc();
        const failure = (code: number, message: string) => {
          bag.set('check.error_code', code);
          bag.set('check.error_message', message);
          if (config.failOpen) {
            stats.failOpen.inc();
            return { code: GrpcStatus.OK, message: '' };
          }
          stats.failClose.inc();
          return { code, message };
        };
        if (!addr) return failure(GrpcStatus.UNAVAILABLE, `check cluster ${config.checkCluster} is unknown`);
        stats.remoteCheckCalls.inc();
        let res: CheckAnswer;
        try {
          res = await clients.transport(addr, ctx, stats).check<CheckAnswer>(
            encodeCheckRequestFromBag(bag, {
              global_word_count: GLOBAL_WORDS.length,
              deduplication_id: `${dedupPrefix}${++dedupSeq}`,
              quotas: {},
            }),
            config.retry,
          );
        } catch (e) {
          const code = e instanceof TransportError ? e.code : GrpcStatus.UNAVAILABLE;
          if (code === GrpcStatus.DEADLINE_EXCEEDED) stats.remoteCallTimeouts.inc();
          else stats.remoteCallSendErrors.inc();
          return failure(code === GrpcStatus.DEADLINE_EXCEEDED ? code : GrpcStatus.UNAVAILABLE, (e as Error).message);
        }
        const p = res.precondition ?? {};
        const status = { code: Number(p.status?.code ?? 0), message: String(p.status?.message ?? '') };
        if (cache) {
          const refs = decodeReferenced(p.referenced_attributes);
          const d = p.valid_duration ?? {};
          const ms = Number(d.seconds ?? 0) * 1000 + Number(d.nanos ?? 0) / 1e6;
          if (refs) cache.insert(bag, refs, status, ms, Number(p.valid_use_count ?? 0), clock.now());
        }
        if (status.code === GrpcStatus.OK) stats.remoteCheckAccepts.inc();
        else stats.remoteCheckDenies.inc();
        return status;
      };

      return () => {
        let state: 'new' | 'checking' | 'done' | 'closed' = 'new';
        let bag: MutableBag | null = null;
        let checkStatus: { code: number; message: string } = { code: GrpcStatus.OK, message: '' };
        let timer: TimerHandle | null = null;
        let lastReceived = 0;
        let lastSent = 0;
        const startMono = clock.monotonic();

        const report = (conn: NetworkConnection, event: Event) => {
          if (config.disableReport || !bag) return;
          const addr = config.reportCluster ? resolve(config.reportCluster) : undefined;
          if (!addr) return;
          stats.reportCalls.inc();
          const info = conn.info;
          const r = bag.clone();
          r.set('connection.received.bytes', info.bytesReceived - lastReceived, 'INT64');
          r.set('connection.received.bytes_total', info.bytesReceived, 'INT64');
          r.set('connection.sent.bytes', info.bytesSent - lastSent, 'INT64');
          r.set('connection.sent.bytes_total', info.bytesSent, 'INT64');
          lastReceived = info.bytesReceived;
          lastSent = info.bytesSent;
          if (event === 'close') {
            r.set('connection.duration', clock.monotonic() - startMono, 'DURATION');
            if (checkStatus.code !== GrpcStatus.OK) {
              r.set('check.error_code', checkStatus.code, 'INT64');
              r.set('check.error_message', checkStatus.message);
            }
          }
          r.set('connection.event', event);
          // the upstream host tcp_proxy picked, unless the config already said (inbound: the pod's own address)
          const host = conn.upstream;
          if (host) {
            const ip = parseIp(host.address);
            if (ip && !r.has('destination.ip')) r.set('destination.ip', ip);
            if (!r.has('destination.port')) r.set('destination.port', host.port, 'INT64');
            const uid = (host.metadata['istio'] as { uid?: unknown } | undefined)?.uid;
            if (typeof uid === 'string') r.set('destination.uid', uid);
          }
          addDestinationFromCluster(r, info.upstreamCluster);
          r.set('context.time', new Date(clock.now()));
          clients.batcher(addr, ctx, stats, true).add(r);
        };

        const opened = (conn: NetworkConnection) => {
          report(conn, 'open');
          const tick = () => {
            if (state !== 'done') return;
            report(conn, 'continue');
            timer = clock.setTimeout(tick, config.reportIntervalMs);
          };
          timer = clock.setTimeout(tick, config.reportIntervalMs);
        };

        return {
          onData(conn: NetworkConnection) {
            if (state !== 'new') return undefined;
            // Istio waits for the first bytes, so the TLS facts (principals, SNI) are known
            bag = connectionBag(conn, config, clock.now(), `${PROCESS_UUID}-${++connectionSeq}`);
            if (config.disableCheck || !config.checkCluster) {
              state = 'done';
              opened(conn);
              return undefined;
            }
            state = 'checking';
            const b = bag;
            return check(b).then((status) => {
              checkStatus = status;
              if (state === 'closed') return false;
              if (status.code !== GrpcStatus.OK) {
                b.set('check.error_code', status.code);
                b.set('check.error_message', status.message);
                return false;
              }
              state = 'done';
              opened(conn);
              return true;
            });
          },
          onClose(conn: NetworkConnection) {
            timer?.cancel();
            state = 'closed';
            // as istio/proxy: every connection that sent bytes (so was checked) ends with a close report
            if (bag) report(conn, 'close');
          },
        };
      };
    },
  };
}
