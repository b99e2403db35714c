/**
 * Fault injection (envoy.filters.http.fault): delay first, then abort, each with its own
 * percentage; the per-route config (typed_per_filter_config) replaces the listener's. Header
 * control: `x-envoy-fault-delay-request`, `x-envoy-fault-abort-request`,
 * `x-envoy-fault-abort-grpc-request` and their `-percentage` headers (capped by the config).
 * Delays use the injected Clock.
 */
import type { FilterFactoryContext, HttpFilter, HttpStreamContext, LocalReply } from '../../types';
import type { FaultConfig } from './config';
import { FaultStats } from './stats';

function headerValue(ctx: HttpStreamContext, name: string): string | undefined {
  const v = ctx.headers[name];
  return v === undefined ? undefined : Array.isArray(v) ? v[0] : String(v);
}

export function createFaultFilter(config: FaultConfig, fctx: FilterFactoryContext): () => HttpFilter {
  const stats = new FaultStats(fctx.stats, fctx.statPrefix);
  const { clock, random } = fctx;
  let active = 0;

  const pick = (
    fraction: number,
    denominator: number,
    ctx: HttpStreamContext,
    pctHeader: string,
    fromHeader: boolean,
  ): boolean => {
    let f = fraction;
    if (fromHeader) {
      const h = Number(headerValue(ctx, pctHeader));
      if (Number.isFinite(h) && h >= 0) f = Math.min(f, h / denominator);
    }
    return f >= 1 || random.next() < f;
  };

  const abortReply = (cfg: NonNullable<FaultConfig['abort']>, ctx: HttpStreamContext): LocalReply | undefined => {
    let http = cfg.httpStatus;
    let grpc = cfg.grpcStatus;
    if (cfg.fromHeader) {
      const h = Number(headerValue(ctx, 'x-envoy-fault-abort-request'));
      const g = Number(headerValue(ctx, 'x-envoy-fault-abort-grpc-request'));
      http = h >= 200 && h < 600 ? h : undefined;
      grpc = headerValue(ctx, 'x-envoy-fault-abort-grpc-request') !== undefined && g >= 0 ? g : undefined;
      if (http === undefined && grpc === undefined) return undefined;
    }
    if (!pick(cfg.fraction, cfg.denominator, ctx, 'x-envoy-fault-abort-request-percentage', cfg.fromHeader))
      return undefined;
    stats.abortsInjected.inc();
    return {
      status: http ?? (grpc !== undefined ? 200 : 503),
      body: 'fault filter abort',
      flag: 'FI',
      grpcStatus: grpc,
      details: 'fault_filter_abort',
    };
  };

  return () => {
    let counted = false;
    return {
      onRequest(ctx): LocalReply | undefined | Promise<LocalReply | undefined> {
        const cfg = ctx.perRouteConfig<FaultConfig>(fctx.filterName) ?? config;
        if (!cfg.delay && !cfg.abort) return undefined;
        if (cfg.headers.length) {
          const get = (n: string) =>
            n === ':path'
              ? ctx.path
              : n === ':method'
                ? ctx.method
                : n === ':authority'
                  ? ctx.authority
                  : headerValue(ctx, n);
          if (!cfg.headers.every((m) => m(get))) return undefined;
        }
        let delayMs: number | undefined;
        if (cfg.delay) {
          let ms = cfg.delay.fixedMs;
          if (cfg.delay.fromHeader) {
            const h = Number(headerValue(ctx, 'x-envoy-fault-delay-request'));
            ms = Number.isFinite(h) && h > 0 ? h : undefined;
          }
          if (
            ms !== undefined &&
            pick(
              cfg.delay.fraction,
              cfg.delay.denominator,
              ctx,
              'x-envoy-fault-delay-request-percentage',
              cfg.delay.fromHeader,
            )
          ) {
            delayMs = ms;
          }
        }
        if (
          cfg.maxActiveFaults !== undefined &&
          active >= cfg.maxActiveFaults &&
          (delayMs !== undefined || cfg.abort)
        ) {
          stats.faultsOverflow.inc();
          return undefined;
        }
        const abortCfg = cfg.abort;
        if (delayMs === undefined) {
          const r = abortCfg ? abortReply(abortCfg, ctx) : undefined;
          if (r) ctx.setResponseFlag('FI');
          return r;
        }
        counted = true;
        active++;
        stats.activeFaults.inc();
        stats.delaysInjected.inc();
        ctx.setResponseFlag('DI');
        return clock.sleep(delayMs).then(() => {
          const r = abortCfg ? abortReply(abortCfg, ctx) : undefined;
          if (r) ctx.setResponseFlag('FI');
          return r;
        });
      },
      onComplete() {
        if (counted) {
          counted = false;
          active--;
          stats.activeFaults.dec();
        }
      },
    };
  };
}
