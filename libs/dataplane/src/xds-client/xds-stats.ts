/**
 * The xDS client's stats, with Envoy's names: `control_plane.connected_state`,
 * and per subscription `<prefix>.update_attempt|update_success|update_rejected|update_failure`
 * where prefix is `cluster_manager.cds`, `cluster_manager.eds`, `listener_manager.lds`, `rds`, `sds`.
 */
import { StatsStore, type Counter, type Gauge } from '../stats/store';

export type XdsKind = 'cds' | 'eds' | 'lds' | 'rds' | 'sds';

export const STAT_PREFIX: Record<XdsKind, string> = {
  cds: 'cluster_manager.cds',
  eds: 'cluster_manager.eds',
  lds: 'listener_manager.lds',
  rds: 'rds',
  sds: 'sds',
};

export interface SubscriptionStats {
  updateAttempt: Counter;
  updateSuccess: Counter;
  updateRejected: Counter;
  updateFailure: Counter;
  initFetchTimeout: Counter;
}

export interface XdsStats {
  connectedState: Gauge;
  streamsOpened: Counter;
  subscriptions: Record<XdsKind, SubscriptionStats>;
}

export function xdsStats(store: StatsStore = new StatsStore()): XdsStats {
  const sub = (kind: XdsKind): SubscriptionStats => {
    const p = STAT_PREFIX[kind];
    return {
      updateAttempt: store.counter(`${p}.update_attempt`),
      updateSuccess: store.counter(`${p}.update_success`),
      updateRejected: store.counter(`${p}.update_rejected`),
      updateFailure: store.counter(`${p}.update_failure`),
      initFetchTimeout: store.counter(`${p}.init_fetch_timeout`),
    };
  };
  return {
    connectedState: store.gauge('control_plane.connected_state'),
    streamsOpened: store.counter('control_plane.streams_opened'),
    subscriptions: { cds: sub('cds'), eds: sub('eds'), lds: sub('lds'), rds: sub('rds'), sds: sub('sds') },
  };
}
