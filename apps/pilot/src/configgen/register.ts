/**
 * Explicit registration of the generator plugins (DESIGN.md: registries are
 * plain maps, registration is explicit). The security (authn, RBAC, mTLS) and
 * Mixer plugins live in configgen/security and configgen/mixer, owned by
 * their engineers; they are added here once they exist.
 */
import type { PluginRegistry } from './plugins';

export function registerBuiltinPlugins(plugins: PluginRegistry): void {
  void plugins;
}
