/**
 * `listchecker` adapter (Istio 1.0 `mixer/adapter/list`): whitelist or
 * blacklist of listentry values from `overrides` and/or a provider URL
 * (one entry per line) refreshed every `refreshInterval`. If the provider's
 * list is older than `ttl`, checks answer UNAVAILABLE.
 */
import { GrpcStatus } from '@tsmesh/core';
import { ParamReader } from '../params';
import type { AdapterInfo, CheckResult } from '../../runtime/types';
import { compileList, valueLabel, type CompiledList } from './list';

function read(params: Record<string, unknown>) {
  const r = new ParamReader(params);
  const providerUrl = r.string('providerUrl');
  const refreshMs = r.duration('refreshInterval', 60_000);
  const ttlMs = r.duration('ttl', 300_000);
  const cachingMs = r.duration('cachingInterval', 300_000);
  const cachingUseCount = r.int('cachingUseCount', 10_000);
  const entryType = r.enumOf(
    'entryType',
    ['STRINGS', 'CASE_INSENSITIVE_STRINGS', 'IP_ADDRESSES', 'REGEX'] as const,
    'STRINGS',
  );
  const blacklist = r.bool('blacklist', false);
  const overrides = r.list('overrides').map(String);
  const compiled = compileList(entryType, overrides);
  if ('bad' in compiled) r.errors.push({ path: `overrides[${compiled.bad}]`, message: compiled.why });
  if (providerUrl && !/^https?:\/\//.test(providerUrl))
    r.errors.push({ path: 'providerUrl', message: 'must be an http(s) URL' });
  if (!providerUrl && overrides.length === 0 && r.raw('overrides') === undefined)
    r.errors.push({ path: 'overrides', message: 'give overrides or a providerUrl' });
  return { r, providerUrl, refreshMs, ttlMs, cachingMs, cachingUseCount, entryType, blacklist, overrides };
}

export const listcheckerAdapter: AdapterInfo = {
  name: 'listchecker',
  templates: ['listentry'],
  validate: (params) => read(params).r.errors,
  build(params, env) {
    const p = read(params);
    const local = compileList(p.entryType, p.overrides) as CompiledList;
    let remote: CompiledList | null = null;
    let remoteAt = 0;
    let timer: { cancel(): void } | null = null;
    const refresh = async () => {
      try {
        const res = await fetch(p.providerUrl, { signal: AbortSignal.timeout(5000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const lines = (await res.text())
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && !l.startsWith('#'));
        const c = compileList(p.entryType, lines);
        if ('bad' in c) throw new Error(`entry ${c.bad}: ${c.why}`);
        remote = c;
        remoteAt = env.clock.now();
      } catch (e) {
        env.logger.warn(
          { handler: env.handlerName, err: (e as Error).message },
          'listchecker: provider refresh failed',
        );
      }
    };
    let first: Promise<void> = Promise.resolve();
    if (p.providerUrl) {
      first = refresh();
      timer = env.clock.setInterval(() => void refresh(), p.refreshMs);
    }
    const result = (code: number, message: string): CheckResult => ({
      status: { code, message },
      validDurationMs: p.cachingMs,
      validUseCount: p.cachingUseCount,
    });
    return {
      async handleCheck(instance) {
        if (p.providerUrl && !remote) await first;
        const value = instance.fields['value'];
        if (p.providerUrl && (!remote || env.clock.now() - remoteAt > p.ttlMs))
          return result(GrpcStatus.UNAVAILABLE, `list provider ${p.providerUrl} has not answered within ttl`);
        const listed = local.has(value) || (remote?.has(value) ?? false);
        if (p.blacklist && listed) return result(GrpcStatus.PERMISSION_DENIED, `${valueLabel(value)} is blacklisted`);
        if (!p.blacklist && !listed) return result(GrpcStatus.NOT_FOUND, `${valueLabel(value)} is not whitelisted`);
        return result(GrpcStatus.OK, '');
      },
      close() {
        timer?.cancel();
      },
    };
  },
};
