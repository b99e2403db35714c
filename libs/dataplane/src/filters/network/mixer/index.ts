import type { FieldError } from '@tsmesh/core';
import type { Msg } from '../../../engine/types';
import type { NetworkFilterFactory } from '../types';
import { parseTcpMixerConfig, TCP_MIXER_NAME, TCP_MIXER_TYPE_URL, type TcpMixerConfig } from './config';
import { createTcpMixerFactory, type TcpMixerDeps, type TcpMixerHandle } from './filter';

/**
 * Istio 1.0's TCP Mixer filter (network filter `mixer`, typed config
 * `istio.mixer.v1.config.client.TcpClientConfig`), placed before `tcp_proxy`.
 * `deps.resolveCluster` maps check_cluster/report_cluster to an address.
 */
export function tcpMixerFilterWith(
  deps: TcpMixerDeps = {},
): NetworkFilterFactory<TcpMixerConfig> & { handle: TcpMixerHandle } {
  const handle = createTcpMixerFactory(deps);
  return {
    name: TCP_MIXER_NAME,
    typeUrls: [TCP_MIXER_TYPE_URL],
    parseConfig: (typed: Msg, path: string, errors: FieldError[]) => parseTcpMixerConfig(typed, path, errors),
    create: (config, ctx) => handle.create(config, ctx),
    handle,
  };
}

export * from './config';
export { connectionBag, createTcpMixerFactory, type TcpMixerDeps, type TcpMixerHandle } from './filter';
