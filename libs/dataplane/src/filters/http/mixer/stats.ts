import type { Counter, StatsStore } from '../../../stats/store';

/**
 * The Mixer filter's counters, with istio/proxy's names under
 * `http_mixer_filter.` (plus the fail-open/close and report-drop counts tsmesh adds).
 */
export interface MixerStats {
  checkCalls: Counter;
  checkCacheHits: Counter;
  checkCacheMisses: Counter;
  remoteCheckCalls: Counter;
  remoteCheckAccepts: Counter;
  remoteCheckDenies: Counter;
  quotaCalls: Counter;
  quotaCacheHits: Counter;
  remoteQuotaCalls: Counter;
  quotaDenies: Counter;
  reportCalls: Counter;
  remoteReportCalls: Counter;
  remoteReportSuccesses: Counter;
  remoteReportErrors: Counter;
  reportDropped: Counter;
  remoteCallTimeouts: Counter;
  remoteCallSendErrors: Counter;
  remoteCallRetries: Counter;
  failOpen: Counter;
  failClose: Counter;
}

export function mixerStats(store: StatsStore, prefix = 'http_mixer_filter.'): MixerStats {
  const c = (n: string) => store.counter(`${prefix}${n}`);
  return {
    checkCalls: c('total_check_calls'),
    checkCacheHits: c('total_check_cache_hits'),
    checkCacheMisses: c('total_check_cache_misses'),
    remoteCheckCalls: c('total_remote_check_calls'),
    remoteCheckAccepts: c('total_remote_check_accepts'),
    remoteCheckDenies: c('total_remote_check_denies'),
    quotaCalls: c('total_quota_calls'),
    quotaCacheHits: c('total_quota_cache_hits'),
    remoteQuotaCalls: c('total_remote_quota_calls'),
    quotaDenies: c('total_quota_denies'),
    reportCalls: c('total_report_calls'),
    remoteReportCalls: c('total_remote_report_calls'),
    remoteReportSuccesses: c('total_remote_report_successes'),
    remoteReportErrors: c('total_remote_report_other_errors'),
    reportDropped: c('total_report_dropped'),
    remoteCallTimeouts: c('total_remote_call_timeouts'),
    remoteCallSendErrors: c('total_remote_call_send_errors'),
    remoteCallRetries: c('total_remote_call_retries'),
    failOpen: c('total_check_fail_open'),
    failClose: c('total_check_fail_close'),
  };
}
