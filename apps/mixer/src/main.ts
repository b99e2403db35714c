/**
 * Mixer: istio.mixer.v1.Mixer (Check on the policy side, Report on the
 * telemetry side) over config from a watched folder and/or Kubernetes CRDs,
 * with the prometheus adapter's listener and a self-monitoring listener.
 */
import { createLogger, createRegistry, runMain, systemClock } from '@tsmesh/core';
import { registerBuiltinAdapters } from './adapters/registry';
import { KubeConfigSource, mixerKubeKinds } from './config/kube-source';
import { registerMixerValidators } from './config/validators';
import { ConfigWatcher } from './config/watcher';
import { Runtime } from './runtime/runtime';
import { mixerImplementation, startGrpc } from './server/grpc';
import { closeHttp, startHttp } from './server/http';
import { mixerSettings } from './settings';

runMain(mixerSettings, async (s) => {
  const logger = createLogger('mixer', { level: s.logLevel });
  const selfRegistry = createRegistry();
  const promRegistry = createRegistry(false);
  const adapters = registerBuiltinAdapters();
  // mesh-config's validate() in this process then checks Mixer kinds in detail too
  registerMixerValidators(adapters);
  const runtime = new Runtime({
    adapters,
    clock: systemClock,
    logger,
    selfRegistry,
    promRegistry,
    quotaBackendUnavailable: s.redisUnavailable as 'grant' | 'deny',
    defaultNamespace: s.configDefaultNamespace,
    defaultValidDurationMs: s.defaultValidDuration,
    defaultValidUseCount: s.defaultValidUseCount,
  });
  const kube = s.kube
    ? new KubeConfigSource({ kinds: mixerKubeKinds(adapters), onChange: () => watcher.kubeChanged(), logger })
    : undefined;
  const watcher: ConfigWatcher = new ConfigWatcher(runtime, {
    dir: s.configDir,
    builtin: s.builtinConfig,
    accessLog: s.builtinAccessLog,
    pollMs: s.configPollInterval,
    kube,
    clock: systemClock,
    logger,
  });
  await watcher.start();

  const grpc = await startGrpc(
    s.grpcAddress,
    mixerImplementation(runtime, s.mode as 'policy' | 'telemetry' | 'both', logger),
  );
  logger.info({ listener: 'grpc', address: grpc.address, mode: s.mode }, 'listening');
  const http: import('node:http').Server[] = [];
  if (s.prometheusAddress) {
    const prom = await startHttp(s.prometheusAddress, {
      '/metrics': async () => ({ status: 200, type: promRegistry.contentType, body: await promRegistry.metrics() }),
    });
    logger.info({ listener: 'prometheus', address: prom.address }, 'listening');
    http.push(prom.server);
  }
  if (s.monitoringAddress) {
    const mon = await startHttp(s.monitoringAddress, {
      '/metrics': async () => ({ status: 200, type: selfRegistry.contentType, body: await selfRegistry.metrics() }),
      '/ready': async () => ({
        status: runtime.current ? 200 : 503,
        type: 'text/plain',
        body: runtime.current ? 'ready\n' : 'no config\n',
      }),
      '/debug/config': async () => ({
        status: 200,
        type: 'application/json',
        body: JSON.stringify(
          {
            rules: runtime.current?.rules.map((r) => r.fqn),
            handlers: [...(runtime.current?.handlers.keys() ?? [])],
            instances: [...(runtime.current?.instances.keys() ?? [])],
            rejected: watcher.issues,
            unreadable: watcher.problems,
          },
          null,
          2,
        ),
      }),
    });
    logger.info({ listener: 'http', address: mon.address }, 'listening');
    http.push(mon.server);
  }
  return {
    async stop() {
      watcher.stop();
      await new Promise<void>((resolve) => grpc.server.tryShutdown(() => resolve()));
      await Promise.all(http.map(closeHttp));
      await runtime.close();
      logger.info('stopped');
      logger.flush();
    },
  };
});
