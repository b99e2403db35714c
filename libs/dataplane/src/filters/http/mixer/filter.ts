/**
 * The Mixer HTTP filter (istio/proxy `src/envoy/http/mixer`): Check before the
 * request goes upstream — answered from the check cache when Mixer's earlier
 * answer still applies — and a batched Report when the stream completes.
 * Denials become a local reply `<CODE>:<message>` with the status mapped to
 * HTTP and response flag UAEX. When Mixer cannot be reached or does not answer in time the
 * network fail policy decides, after its retries of the Check call (FAIL_CLOSE → 503 UNAVAILABLE
 * or 504 DEADLINE_EXCEEDED, FAIL_OPEN → continue); both are counted.
 */
import { GLOBAL_WORDS, type AttributeValue, type SlotBag } from '@tsmesh/attributes';
import { GrpcStatus, type Clock } from '@tsmesh/core';
import type { FilterFactoryContext, HttpFilter, HttpStreamContext, LocalReply, ResponseHeadersView } from '../../types';
import { encodeCheckRequestFromBag } from './check-codec';
import { CheckCache, decodeReferenced, type CachedStatus, type WireReferenced } from './check-cache';
import type { MixerConfig, QuotaRef, ServiceSettings } from './config';
import { QuotaCache } from './quota-cache';
import { DEFAULT_REPORT_BATCH, ReportBatcher, type ReportBatchOptions } from './report-batch';
import {
  addResponseAttributes,
  bagOfRequest,
  completionFacts,
  encodeForwarded,
  FORWARD_HEADER,
  headerMap,
  requestFacts,
  StaticLayers,
  type RequestFacts,
} from './request-attributes';
import { mixerStats, type MixerStats } from './stats';
import { DEFAULT_TRANSPORT, MixerTransport, TransportError, type TransportOptions } from './transport';

export interface MixerFilterDeps {
  /** check_cluster / report_cluster → `host:port`. Default: see `defaultResolveCluster`. */
  resolveCluster?(name: string): string | undefined;
  transport?: Partial<TransportOptions>;
  reportBatch?: Partial<ReportBatchOptions>;
  checkCacheSize?: number;
  /** Quota prefetch: a remote quota call asks (best effort) for this many times the charge. Default 5; 1 disables. */
  quotaPrefetch?: number;
}

/** `host:port` as is; Istio's `outbound|9091||istio-policy.istio-system.svc.cluster.local` → that host and port. */
export function defaultResolveCluster(name: string): string | undefined {
  const parts = name.split('|');
  if (parts.length === 4 && parts[1] && parts[3]) return `${parts[3]}:${parts[1]}`;
  if (/^[^|\s]+:\d+$/.test(name)) return name;
  return undefined;
}

// Unique per process and request: Mixer answers a repeated id with its first answer.
const dedupPrefix = `${process.pid}-${Date.now().toString(36)}-`;
let dedupSeq = 0;

const CODE_NAMES = Object.fromEntries(Object.entries(GrpcStatus).map(([k, v]) => [v, k])) as Record<number, string>;

/** istio/proxy `utils/status.cc` StatusHttpCode. */
export function statusHttpCode(code: number): number {
  switch (code) {
    case GrpcStatus.OK:
      return 200;
    case GrpcStatus.CANCELLED:
      return 499;
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.FAILED_PRECONDITION:
    case GrpcStatus.OUT_OF_RANGE:
      return 400;
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 504;
    case GrpcStatus.NOT_FOUND:
      return 404;
    case GrpcStatus.ALREADY_EXISTS:
    case GrpcStatus.ABORTED:
      return 409;
    case GrpcStatus.PERMISSION_DENIED:
      return 403;
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return 429;
    case GrpcStatus.UNIMPLEMENTED:
      return 501;
    case GrpcStatus.UNAVAILABLE:
      return 503;
    case GrpcStatus.UNAUTHENTICATED:
      return 401;
    default:
      return 500;
  }
}

function denial(status: CachedStatus): LocalReply {
  const name = CODE_NAMES[status.code] ?? 'UNKNOWN';
  return {
    status: statusHttpCode(status.code),
    body: `${name}:${status.message}`,
    flag: 'UAEX',
    grpcStatus: status.code,
    details: 'mixer_check_denied',
  };
}

interface CheckResponse {
  precondition?: {
    status?: { code?: number; message?: string };
    valid_duration?: { seconds?: number; nanos?: number };
    valid_use_count?: number;
    referenced_attributes?: WireReferenced;
  };
  quotas?: Record<
    string,
    {
      granted_amount?: number;
      valid_duration?: { seconds?: number; nanos?: number };
      referenced_attributes?: WireReferenced;
    }
  >;
}

/**
 * Shared by every listener's filter instance with the same Mixer address (survives config pushes).
 * The TCP `mixer` network filter keeps its own instance of it.
 */
export class Clients {
  private readonly transports = new Map<string, MixerTransport>();
  private readonly caches = new Map<string, CheckCache>();
  private readonly batchers = new Map<string, ReportBatcher>();
  private readonly quotaCaches = new Map<string, QuotaCache>();
  constructor(private readonly deps: MixerFilterDeps) {}

  transport(addr: string, ctx: FilterFactoryContext, stats: MixerStats): MixerTransport {
    let t = this.transports.get(addr);
    if (!t) {
      // as istio/proxy, each failed attempt is counted (timeout or send error), and each retry
      t = new MixerTransport(addr, { ...DEFAULT_TRANSPORT, ...this.deps.transport }, ctx.clock, ctx.random, (e) => {
        if (e.code === GrpcStatus.DEADLINE_EXCEEDED) stats.remoteCallTimeouts.inc();
        else stats.remoteCallSendErrors.inc();
        stats.remoteCallRetries.inc();
      });
      this.transports.set(addr, t);
    }
    return t;
  }
  cache(addr: string): CheckCache {
    let c = this.caches.get(addr);
    if (!c) this.caches.set(addr, (c = new CheckCache(this.deps.checkCacheSize ?? 10_000)));
    return c;
  }
  quotaCache(addr: string): QuotaCache {
    let c = this.quotaCaches.get(addr);
    if (!c) this.quotaCaches.set(addr, (c = new QuotaCache(Math.max(1, this.deps.quotaPrefetch ?? 5))));
    return c;
  }
  batcher(addr: string, ctx: FilterFactoryContext, stats: MixerStats, batch: boolean): ReportBatcher {
    // called per request: no key string built for the usual batched case
    const key = batch ? addr : `${addr}|unbatched`;
    let b = this.batchers.get(key);
    if (!b) {
      const transport = this.transport(addr, ctx, stats);
      const opts = { ...DEFAULT_REPORT_BATCH, ...this.deps.reportBatch, ...(batch ? {} : { maxEntries: 1 }) };
      b = new ReportBatcher(
        {
          send: (req) => {
            stats.remoteReportCalls.inc();
            return transport.report(req);
          },
          onSent: (ok) => (ok ? stats.remoteReportSuccesses.inc() : stats.remoteReportErrors.inc()),
          onDropped: (n) => stats.reportDropped.inc(n),
        },
        ctx.clock,
        opts,
      );
      this.batchers.set(key, b);
    }
    return b;
  }
  async close(): Promise<void> {
    await Promise.all([...this.batchers.values()].map((b) => b.close()));
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
    this.batchers.clear();
    this.caches.clear();
    this.quotaCaches.clear();
  }
}

function clauseMatches(q: ServiceSettings['quotaRules'][number], bag: SlotBag): boolean {
  if (q.match.length === 0) return true;
  return q.match.some((m) =>
    m.clause.every((c) => {
      const v = bag.get(c.name);
      if (typeof v !== 'string') return false;
      if (c.exact !== undefined) return v === c.exact;
      if (c.prefix !== undefined) return v.startsWith(c.prefix);
      return c.regex ? c.regex.test(v) : true;
    }),
  );
}

function quotasFor(svc: ServiceSettings | undefined, bag: SlotBag): QuotaRef[] {
  if (!svc) return [];
  return svc.quotaRules.filter((r) => clauseMatches(r, bag)).flatMap((r) => r.quotas);
}

export interface MixerFilterHandle {
  create(config: MixerConfig, ctx: FilterFactoryContext): () => HttpFilter;
  /** Flushes reports and closes connections (proxy shutdown, tests). */
  close(): Promise<void>;
}

export function createMixerFactory(deps: MixerFilterDeps = {}): MixerFilterHandle {
  const clients = new Clients(deps);
  const resolve = deps.resolveCluster ?? defaultResolveCluster;
  return {
    close: () => clients.close(),
    create(config, ctx) {
      const stats = mixerStats(ctx.stats);
      const clock: Clock = ctx.clock;
      // Resolved per request (a map lookup): the cluster's endpoints may arrive or move after
      // this listener was built, and the clients for an address are shared and reused.
      const checkSide = () => {
        const addr = config.checkCluster ? resolve(config.checkCluster) : undefined;
        return {
          cache: addr && !config.disableCheckCache ? clients.cache(addr) : null,
          quotaCache: addr && !config.disableQuotaCache ? clients.quotaCache(addr) : null,
          transport: addr ? clients.transport(addr, ctx, stats) : null,
        };
      };
      const batcherNow = () => {
        const addr = config.reportCluster ? resolve(config.reportCluster) : undefined;
        return addr ? clients.batcher(addr, ctx, stats, !config.disableReportBatch) : null;
      };
      // forwarded attributes are static per service config: encode them once, not per request
      const forwardCache = new Map<ServiceSettings | undefined, string>();
      const forwardHeader = (svc: ServiceSettings | undefined): string => {
        let h = forwardCache.get(svc);
        if (h === undefined) {
          const fwd = svc ? { ...config.forwardAttributes, ...svc.forwardAttributes } : config.forwardAttributes;
          h = Object.keys(fwd).length > 0 ? encodeForwarded(fwd) : '';
          if (forwardCache.size < 1000) forwardCache.set(svc, h);
        }
        return h;
      };

      // each request's bag sits over its static attributes, built once per service and caller
      const layers = new StaticLayers();
      const configOnly = [config.attributes];
      const staticsCache = new Map<ServiceSettings | undefined, Array<Record<string, AttributeValue>>>();
      const staticsOf = (svc: ServiceSettings | undefined) => {
        let st = staticsCache.get(svc);
        if (st === undefined) {
          st = svc ? [config.attributes, svc.attributes] : configOnly;
          if (staticsCache.size < 1000) staticsCache.set(svc, st);
        }
        return st;
      };

      const failure = (bag: SlotBag, failOpen: boolean, why: string, code: number): LocalReply | undefined => {
        bag.set('check.error_code', code);
        bag.set('check.error_message', why);
        if (failOpen) {
          stats.failOpen.inc();
          return undefined;
        }
        stats.failClose.inc();
        return { ...denial({ code, message: why }), details: 'mixer_unreachable' };
      };

      // One object per request with its methods on the prototype (no closures per request). With
      // Check off it keeps only the request's facts (copied values, no bag), and the Report's
      // entry is written from them when the stream completes (no bag then either).
      class MixerStreamFilter implements HttpFilter {
        /** The request's bag, when Check needed it. */
        bag: SlotBag | null = null;
        /** The request's facts, when no bag was built for Check. */
        request: RequestFacts | null = null;
        svc: ServiceSettings | undefined = undefined;
        /** The response headers as this filter saw them go downstream (Istio's `response.headers`). */
        responseHeaders: Record<string, string> | undefined = undefined;
        onRequest(ctx2: HttpStreamContext): LocalReply | undefined | Promise<LocalReply | undefined> {
          const svc = (this.svc =
            ctx2.perRouteConfig<ServiceSettings>(ctx.filterName) ??
            config.services.get(config.defaultDestinationService));
          const facts = requestFacts(ctx2, clock.now());
          const fwd = forwardHeader(svc);
          if (fwd) ctx2.headers[FORWARD_HEADER] = fwd;
          // without a Check the request goes on at once (no promise, no extra tick)
          if (svc?.disableCheck || !config.checkCluster) {
            this.request = facts;
            return undefined;
          }
          const bag = (this.bag = bagOfRequest(facts, staticsOf(svc), layers));
          return check(ctx2, bag, svc);
        }
        onResponse(_ctx2: HttpStreamContext, response: ResponseHeadersView): void {
          // copied now: later filters may still edit the object, and only a listener with an
          // access log keeps its own copy on the stream info
          if (!this.svc?.disableReport) this.responseHeaders = headerMap(response.headers);
        }
        onComplete(ctx2: HttpStreamContext): void {
          if (this.svc?.disableReport) return;
          const batcher = batcherNow();
          if (!batcher) return;
          stats.reportCalls.inc();
          const now = clock.now();
          if (this.bag !== null) {
            batcher.add(addResponseAttributes(this.bag, ctx2.info, now, this.responseHeaders));
            return;
          }
          // the facts taken in onRequest, or now when it never ran (a reply before this filter)
          const facts = this.request ?? requestFacts(ctx2, now);
          const layer = layers.entry(facts.forwarded, staticsOf(this.svc));
          batcher.addFacts(facts, completionFacts(ctx2.info, now, this.responseHeaders), layer);
        }
      }
      return () => new MixerStreamFilter();

      async function check(
        ctx2: HttpStreamContext,
        bag: SlotBag,
        svc: ServiceSettings | undefined,
      ): Promise<LocalReply | undefined> {
        const failOpen = svc?.failOpen ?? config.failOpen;
        const { cache, quotaCache, transport } = checkSide();
        stats.checkCalls.inc();
        const quotas = quotasFor(svc, bag);
        if (quotas.length > 0) stats.quotaCalls.inc();
        const now = clock.now();
        let preconditionOk = false;
        if (cache) {
          const hit = cache.lookup(bag, now);
          if (hit) {
            stats.checkCacheHits.inc();
            bag.set('check.cache_hit', true);
            if (hit.code !== GrpcStatus.OK) {
              ctx2.info.dynamicMetadata['istio.mixer'] = { status: hit };
              return denial(hit);
            }
            preconditionOk = true;
          } else stats.checkCacheMisses.inc();
        }
        const b = bag;
        // quotas served from prefetched tokens need no remote call; the others ask for what
        // the recent rate predicts (each request is counted, served locally or not)
        const asks = quotaCache ? quotas.map((q) => quotaCache.ask(q.quota, q.charge, now)) : [];
        const remoteQuotas = quotaCache ? quotas.filter((q) => !quotaCache.take(q.quota, b, q.charge, now)) : quotas;
        if (quotas.length > 0 && remoteQuotas.length === 0) {
          stats.quotaCacheHits.inc();
          bag.set('quota.cache_hit', true);
        }
        if (preconditionOk && remoteQuotas.length === 0) return undefined;
        if (!transport)
          return failure(bag, failOpen, `check cluster ${config.checkCluster} is unknown`, GrpcStatus.UNAVAILABLE);
        const req = encodeCheckRequestFromBag(bag, {
          global_word_count: GLOBAL_WORDS.length,
          deduplication_id: `${dedupPrefix}${++dedupSeq}`,
          quotas: Object.fromEntries(
            remoteQuotas.map((q) => [
              q.quota,
              quotaCache
                ? { amount: asks[quotas.indexOf(q)], best_effort: true }
                : { amount: q.charge, best_effort: false },
            ]),
          ),
        });
        stats.remoteCheckCalls.inc();
        if (remoteQuotas.length > 0) stats.remoteQuotaCalls.inc();
        let res: CheckResponse;
        try {
          res = await transport.check<CheckResponse>(req, config.retry);
        } catch (e) {
          const code = e instanceof TransportError ? e.code : GrpcStatus.UNAVAILABLE;
          if (code === GrpcStatus.DEADLINE_EXCEEDED) stats.remoteCallTimeouts.inc();
          else stats.remoteCallSendErrors.inc();
          return failure(
            bag,
            failOpen,
            (e as Error).message,
            code === GrpcStatus.DEADLINE_EXCEEDED ? code : GrpcStatus.UNAVAILABLE,
          );
        }
        const p = res.precondition ?? {};
        const status: CachedStatus = {
          code: Number(p.status?.code ?? 0),
          message: String(p.status?.message ?? ''),
        };
        if (cache) {
          const refs = decodeReferenced(p.referenced_attributes);
          const d = p.valid_duration ?? {};
          const ms = Number(d.seconds ?? 0) * 1000 + Number(d.nanos ?? 0) / 1e6;
          if (refs) cache.insert(bag, refs, status, ms, Number(p.valid_use_count ?? 0), clock.now());
        }
        if (status.code !== GrpcStatus.OK) {
          stats.remoteCheckDenies.inc();
          bag.set('check.error_code', status.code);
          bag.set('check.error_message', status.message);
          ctx2.info.dynamicMetadata['istio.mixer'] = { status };
          return denial(status);
        }
        stats.remoteCheckAccepts.inc();
        for (const q of remoteQuotas) {
          const qr = res.quotas?.[q.quota];
          const granted = Number(qr?.granted_amount ?? 0);
          if (quotaCache) {
            const d = qr?.valid_duration ?? {};
            const ms = Number(d.seconds ?? 0) * 1000 + Number(d.nanos ?? 0) / 1e6;
            quotaCache.granted(q.quota, ms);
            const refs = granted > q.charge ? decodeReferenced(qr?.referenced_attributes) : undefined;
            if (refs) quotaCache.put(q.quota, bag, refs, granted - q.charge, ms, clock.now());
          }
          if (granted < q.charge) {
            stats.quotaDenies.inc();
            const s = { code: GrpcStatus.RESOURCE_EXHAUSTED, message: `Quota is exhausted for: ${q.quota}` };
            bag.set('check.error_code', s.code);
            bag.set('check.error_message', s.message);
            return denial(s);
          }
        }
        return undefined;
      }
    },
  };
}
