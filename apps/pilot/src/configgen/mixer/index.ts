/**
 * The Mixer plugin for Pilot's `mixer` filter slot. Registered explicitly by
 * Pilot (`plugins.register(mixerPlugin)`); it emits nothing unless the mesh
 * names a Mixer (mixerCheckServer / mixerReportServer).
 */
import type { ConfigPlugin } from '../plugins';
import {
  buildMixerFilter,
  buildTcpMixerFilter,
  mixerDirection,
  quotaSpecsFor,
  type BindingObject,
  type QuotaSpecObject,
} from './build';

export const mixerPlugin: ConfigPlugin = {
  name: 'mixer',
  slot: 'mixer',
  httpFilters(input) {
    const mesh = input.ctx.mesh;
    if (!mesh.mixerCheckServer && !mesh.mixerReportServer) return [];
    const objs = (kind: string) =>
      input.ctx.store.list(kind).map((o) => ({
        name: o.name,
        namespace: o.namespace,
        spec: ((o as unknown as { object?: { spec?: unknown } }).object?.spec ?? {}) as never,
      }));
    const direction = mixerDirection(input.proxy, input.direction);
    const quotaSpecs =
      input.service && direction === 'inbound'
        ? quotaSpecsFor(
            input.service,
            objs('QuotaSpecBinding') as BindingObject[],
            objs('QuotaSpec') as QuotaSpecObject[],
          )
        : [];
    return [
      buildMixerFilter(input.proxy, input.service, mesh, {
        direction,
        port: input.port.port,
        quotaSpecs,
      }),
    ];
  },
  tcpFilters(input) {
    const mesh = input.ctx.mesh;
    if (!mesh.mixerCheckServer && !mesh.mixerReportServer) return [];
    const direction = mixerDirection(input.proxy, input.direction);
    return [buildTcpMixerFilter(input.proxy, input.service, mesh, { direction, port: input.port.port })];
  },
};

export * from './build';
