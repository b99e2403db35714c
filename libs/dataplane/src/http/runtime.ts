/**
 * What a connection manager needs from the engine at request time: the current clusters and
 * route configurations (looked up by name, so CDS/RDS pushes take effect without rebuilding
 * listeners), time, randomness, stats and the stream-complete hooks.
 */
import type { Clock, Logger, Random } from '@tsmesh/core';
import type { StatsStore } from '../stats/store';
import type { Cluster } from '../upstream/cluster';
import type { CompiledRouteConfig } from './route-table';
import type { StreamCompleteHook } from './stream-info';

export interface HcmRuntime {
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly stats: StatsStore;
  readonly nodeId: string;
  cluster(name: string): Cluster | undefined;
  routeConfig(name: string): CompiledRouteConfig | undefined;
  readonly streamHooks: readonly StreamCompleteHook[];
}
