/**
 * Which accepted resources may be live (Envoy's warming): an EDS cluster once its endpoints
 * arrived, a listener once its route configurations arrived, either once its SDS secrets arrived.
 * A resource still warming keeps its previous live version, if it had one.
 */
import { emptySnapshot, type Msg, type Snapshot } from '../engine/types';
import { edsServiceName, rdsRouteNames, sdsSecretNames } from './resource-deps';

/** A resource as last accepted: the version of the response that carried it and when. */
export interface VersionedResource {
  name: string;
  resource: Msg;
  version: string;
  lastUpdated: number;
}

export type ResourceMap = ReadonlyMap<string, VersionedResource>;

export interface AcceptedState {
  clusters: ResourceMap;
  endpoints: ResourceMap;
  listeners: ResourceMap;
  routes: ResourceMap;
  secrets: ResourceMap;
  /** CDS and LDS have each been accepted at least once (and what static resources load over ADS). */
  bothReceived: boolean;
}

export interface LiveState {
  clusters: Map<string, VersionedResource>;
  listeners: Map<string, VersionedResource>;
}

export interface NextLive extends LiveState {
  /** Every accepted cluster and listener is warm. */
  allWarm: boolean;
  snapshot: Snapshot;
}

/**
 * The next live config. `force` (initial fetch timeout expired) takes every accepted cluster and
 * listener, warm or not.
 */
export function nextLive(accepted: AcceptedState, active: LiveState, force: boolean, statics?: Snapshot): NextLive {
  const secretsReady = (r: Msg) => sdsSecretNames(r).every((n) => accepted.secrets.has(n));
  let allWarm = accepted.bothReceived;
  const pick = (from: ResourceMap, live: ReadonlyMap<string, VersionedResource>, warm: (r: Msg) => boolean) => {
    const out = new Map<string, VersionedResource>();
    for (const [name, v] of from) {
      if (force || (warm(v.resource) && secretsReady(v.resource))) out.set(name, v);
      else {
        allWarm = false;
        const old = live.get(name);
        if (old) out.set(name, old);
      }
    }
    return out;
  };
  const clusters = pick(accepted.clusters, active.clusters, (c) => {
    const service = edsServiceName(c);
    return service === null || accepted.endpoints.has(service);
  });
  const listeners = pick(accepted.listeners, active.listeners, (l) =>
    rdsRouteNames(l).every((r) => accepted.routes.has(r)),
  );
  const st = statics ?? emptySnapshot();
  const values = (m: ReadonlyMap<string, VersionedResource>) => [...m.values()].map((v) => v.resource);
  return {
    clusters,
    listeners,
    allWarm,
    snapshot: {
      clusters: [...st.clusters, ...values(clusters)],
      endpoints: [...st.endpoints, ...values(accepted.endpoints)],
      listeners: [...st.listeners, ...values(listeners)],
      routes: [...st.routes, ...values(accepted.routes)],
      secrets: [...st.secrets, ...values(accepted.secrets)],
    },
  };
}
