/** The adapter registry: a plain map filled explicitly by registerBuiltinAdapters(). */
import type { AdapterInfo } from '../runtime/types';
import { denierAdapter } from './denier';
import { listcheckerAdapter } from './listchecker';
import { memquotaAdapter } from './memquota';
import { prometheusAdapter } from './prometheus';
import { redisquotaAdapter } from './redisquota';
import { stdioAdapter } from './stdio';
import { tracingAdapter } from './tracing';

export function registerBuiltinAdapters(into = new Map<string, AdapterInfo>()): Map<string, AdapterInfo> {
  for (const a of [
    denierAdapter,
    listcheckerAdapter,
    memquotaAdapter,
    redisquotaAdapter,
    prometheusAdapter,
    stdioAdapter,
    tracingAdapter,
  ])
    into.set(a.name, a);
  return into;
}
