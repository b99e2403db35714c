/** The sidecar: Envoy-compatible proxy on libs/dataplane, configured by a bootstrap and ADS. */
// First: V8 heap flags for a small sidecar (before any module allocates).
import './v8-flags';
import { createLogger, runMain } from '@tsmesh/core';
import { registerBuiltinFilters, startProxyProcess } from '@tsmesh/dataplane';
import { proxyConfig } from './settings';

runMain(
  proxyConfig,
  async (s) => {
    const logger = createLogger('proxy', { level: s.logLevel });
    const runtime = await startProxyProcess('sidecar', s, logger, registerBuiltinFilters);
    return { stop: () => runtime.stop() };
  },
  { drainTimeoutMs: 120_000 },
);
