/** `node dist/apps/pilot/main.js --config-dir DIR | --kube` (see docs/pilot.md). */
import { createLogger, runMain } from '@tsmesh/core';
import { registerBuiltinPlugins } from './configgen/register';
import { startPilot } from './pilot';
import { pilotConfig } from './settings';

runMain(pilotConfig, async (s) => {
  const log = createLogger('pilot', { level: s.logLevel });
  const pilot = await startPilot({
    configDir: s.configDir,
    kube: s.kube,
    meshConfig: s.meshConfig,
    grpcAddr: s.grpcAddr,
    httpAddr: s.httpAddr,
    debounceAfterMs: s.debounceAfter,
    debounceMaxMs: s.debounceMax,
    maxRequestBytes: s.maxRequestBytes,
    domainSuffix: s.domainSuffix,
    log,
    registerPlugins: (p, hooks) => registerBuiltinPlugins(p, { ...hooks, jwksRefreshMs: s.jwtPubKeyRefreshInterval }),
  });
  return {
    async stop() {
      log.info('stopping');
      await pilot.stop();
    },
  };
});
