/** The ingress gateway: the proxy engine as an Istio `router` node, serving Gateway-derived listeners. */
import { createLogger, runMain } from '@tsmesh/core';
import { registerBuiltinFilters, startProxyProcess } from '@tsmesh/dataplane';
import { gatewayConfig } from './settings';

runMain(
  gatewayConfig,
  async (s) => {
    const logger = createLogger('gateway', { level: s.logLevel });
    const runtime = await startProxyProcess('router', s, logger, registerBuiltinFilters);
    return { stop: () => runtime.stop() };
  },
  { drainTimeoutMs: 120_000 },
);
