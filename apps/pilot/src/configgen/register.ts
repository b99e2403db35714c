/**
 * Explicit registration of the generator plugins (DESIGN.md: registries are
 * plain maps, registration is explicit): security (authn/jwt, RBAC, inbound
 * mTLS) from configgen/security and the Mixer filter from configgen/mixer,
 * each owned by its engineer.
 */
import type { Logger } from '@tsmesh/core';
import { mixerPlugin } from './mixer';
import type { PluginRegistry } from './plugins';
import { securityPlugins } from './security';

export function registerBuiltinPlugins(plugins: PluginRegistry, log?: Logger): void {
  for (const p of securityPlugins({ warn: (message) => log?.warn({ plugin: 'security' }, message) }))
    plugins.register(p);
  plugins.register(mixerPlugin);
}
