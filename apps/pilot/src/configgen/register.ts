/**
 * Explicit registration of the generator plugins (DESIGN.md: registries are
 * plain maps, registration is explicit): security (authn/jwt, RBAC, inbound
 * mTLS) from configgen/security and the Mixer filter from configgen/mixer,
 * each owned by its engineer.
 */
import type { Clock, Logger } from '@tsmesh/core';
import { mixerPlugin } from './mixer';
import type { PluginRegistry } from './plugins';
import { JwksCache, securityPlugins } from './security';

export interface PluginWiring {
  log?: Logger;
  clock?: Clock;
  /**
   * Given by a running Pilot: the JWKS of every `jwksUri` is then fetched (and refreshed, last good
   * copy kept) by a JwksCache, and a change of keys makes a full push that inlines them. Without it
   * (pure generation in tests) a `jwksUri` inlines an empty key set.
   */
  requestPush?: (reason: string) => void;
  onStop?: (fn: () => void) => void;
  /** JWKS refresh interval (Istio's PILOT_JWT_PUB_KEY_REFRESH_INTERVAL, 20 min). */
  jwksRefreshMs?: number;
}

export function registerBuiltinPlugins(plugins: PluginRegistry, w: PluginWiring = {}): void {
  const { log, clock, requestPush } = w;
  const jwks =
    requestPush && clock && log
      ? new JwksCache({
          clock,
          logger: log,
          refreshMs: w.jwksRefreshMs,
          onChange: (uri) => {
            log.info({ jwksUri: uri }, 'JWKS changed');
            requestPush('jwks');
          },
        })
      : undefined;
  if (jwks) w.onStop?.(() => jwks.stop());
  for (const p of securityPlugins({ jwks, warn: (message) => log?.warn({ plugin: 'security' }, message) }))
    plugins.register(p);
  plugins.register(mixerPlugin);
}
