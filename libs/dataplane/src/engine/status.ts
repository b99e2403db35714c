/** Runtime state for the admin API's `/listeners` and `/clusters` (Envoy's per-host lines). */
import type { Cluster } from '../upstream/cluster';

export interface ListenerStatus {
  name: string;
  address: string;
  connections: number;
  draining: boolean;
}

export interface HostStatus {
  address: string;
  weight: number;
  /** Envoy's health flags: `healthy`, `/failed_outlier_check`, `/failed_eds_health`. */
  healthFlags: string;
  cxTotal: number;
  cxActive: number;
  cxConnectFail: number;
  rqTotal: number;
  rqActive: number;
  rqSuccess: number;
  rqError: number;
  rqTimeout: number;
  timesEjected: number;
}

export interface ClusterStatus {
  name: string;
  type: string;
  lbPolicy: string;
  circuitBreakers: { maxConnections: number; maxPendingRequests: number; maxRequests: number; maxRetries: number };
  rqActive: number;
  hosts: HostStatus[];
}

export function clusterStatus(c: Cluster): ClusterStatus {
  const cb = c.settings.circuitBreaker;
  return {
    name: c.settings.name,
    type: c.settings.type,
    lbPolicy: c.settings.lbPolicy,
    circuitBreakers: {
      maxConnections: cb.maxConnections,
      maxPendingRequests: cb.maxPendingRequests,
      maxRequests: cb.maxRequests,
      maxRetries: cb.maxRetries,
    },
    rqActive: c.rqActive,
    hosts: c.hosts.map((h) => ({
      address: h.key,
      weight: h.weight,
      healthFlags: h.healthFlags(),
      cxTotal: h.cxTotal,
      cxActive: h.cxActive,
      cxConnectFail: h.cxConnectFail,
      rqTotal: h.rqTotal,
      rqActive: h.rqActive,
      rqSuccess: h.rqSuccess,
      rqError: h.rqError,
      rqTimeout: h.rqTimeout,
      timesEjected: h.timesEjected,
    })),
  };
}
