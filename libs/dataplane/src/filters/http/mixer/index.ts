import type { FieldError } from '@tsmesh/core';
import type { Msg } from '../../../engine/types';
import type { HttpFilterFactory } from '../../types';
import {
  MIXER_NAME,
  MIXER_SERVICE_CONFIG_TYPE_URL,
  MIXER_TYPE_URL,
  parseMixerConfig,
  parseServiceConfig,
  type MixerConfig,
  type ServiceSettings,
} from './config';
import { createMixerFactory, type MixerFilterDeps, type MixerFilterHandle } from './filter';

/**
 * Istio 1.0's Mixer filter (`mixer`, typed config `istio.mixer.v1.config.client.HttpClientConfig`;
 * per-route `ServiceConfig`). `deps.resolveCluster` maps check_cluster/report_cluster to an address.
 */
export function mixerFilterWith(
  deps: MixerFilterDeps = {},
): HttpFilterFactory<MixerConfig, ServiceSettings> & { handle: MixerFilterHandle } {
  const handle = createMixerFactory(deps);
  return {
    name: MIXER_NAME,
    typeUrls: [MIXER_TYPE_URL, MIXER_SERVICE_CONFIG_TYPE_URL],
    parseConfig: (typed: Msg, path: string, errors: FieldError[]) => parseMixerConfig(typed, path, errors),
    parsePerRoute: (typed: Msg, path: string, errors: FieldError[]) => parseServiceConfig(typed, path, errors),
    create: (config, ctx) => handle.create(config, ctx),
    handle,
  };
}

export * from './config';
export {
  createMixerFactory,
  defaultResolveCluster,
  statusHttpCode,
  type MixerFilterDeps,
  type MixerFilterHandle,
} from './filter';
export { CheckCache, decodeReferenced } from './check-cache';
export { ReportBatcher, DEFAULT_REPORT_BATCH } from './report-batch';
export { DEFAULT_TRANSPORT, type TransportOptions } from './transport';
export { FORWARD_HEADER, requestBag, encodeForwarded, forwardedAttributes } from './request-attributes';
