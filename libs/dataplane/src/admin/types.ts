/**
 * What the admin API reads and drives. The proxy runtime (bootstrap/) implements it over the
 * engine, the xDS client and the bootstrap; tests implement it with fixed data.
 */
import type { Msg } from '../engine/types';
import type { StatsStore } from '../stats/store';

/** Envoy's `envoy.admin.v3.ServerInfo.State`. */
export type ServerState = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';

export interface ClusterHostView {
  /** `host:port`. */
  address: string;
  /** Per-host counters/gauges as `/clusters` prints them (`cx_active`, `rq_total`, …). */
  stats: Record<string, number>;
  /** `healthy`, or Envoy's flags such as `/failed_outlier_check`. */
  health: string;
  weight: number;
  zone?: string;
  region?: string;
  subZone?: string;
  canary?: boolean;
  successRate?: number;
}

export interface ClusterView {
  name: string;
  addedViaApi: boolean;
  observabilityName?: string;
  circuitBreakers?: { maxConnections: number; maxPendingRequests: number; maxRequests: number; maxRetries: number };
  hosts: ClusterHostView[];
}

export interface ListenerView {
  name: string;
  /** Bound `host:port`. */
  address: string;
}

export interface AdminBackend {
  readonly stats: StatsStore;
  state(): ServerState;
  /** `/config_dump` body: `{configs: [...]}` (Envoy's admin.v3.ConfigDump JSON). */
  configDump(options: { includeEds: boolean }): { configs: Msg[] };
  clusters(): ClusterView[];
  listeners(): ListenerView[];
  /** `/server_info` body (admin.v3.ServerInfo JSON). */
  serverInfo(): Msg;
  setHealthCheckFailed(failed: boolean): void;
  drainListeners(options: { graceful: boolean; inboundOnly: boolean }): Promise<void> | void;
  /** `/quitquitquit`: begin shutdown (after the response is written). */
  quit(): void;
  logLevel(): string;
  setLogLevel(level: string): void;
}
