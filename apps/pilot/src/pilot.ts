/**
 * Assembles a Pilot: config store + registry (folder or Kubernetes) +
 * discovery (debounced pushes) + xDS gRPC server + debug HTTP server.
 * Used by main.ts and by in-process tests.
 */
import type { AddressInfo } from 'node:net';
import { createLogger, silentLogger, systemClock, type Clock, type Logger } from '@tsmesh/core';
import { ConfigStore } from '@tsmesh/mesh-config';
import { PluginRegistry } from './configgen/plugins';
import { createDebugServer } from './debug/debug-server';
import { pilotErrors } from './errors';
import { defaultMeshSettings, loadMeshSettings, type MeshSettings } from './model/mesh';
import { FolderRegistry } from './registry/folder/folder-registry';
import { KubeRegistry } from './registry/kube/kube-registry';
import { Discovery } from './xds/discovery';
import { createPilotMetrics, type PilotMetrics } from './xds/metrics';
import { XdsServer } from './xds/server';

export interface PilotOptions {
  configDir?: string;
  kube?: boolean;
  /** For tests: a ready KubeConfig instead of in-cluster/KUBECONFIG. */
  kubeConfig?: import('@kubernetes/client-node').KubeConfig;
  meshConfig?: string;
  mesh?: Partial<MeshSettings>;
  grpcAddr: string;
  httpAddr: string;
  debounceAfterMs: number;
  debounceMaxMs: number;
  maxRequestBytes?: number;
  domainSuffix?: string;
  clock?: Clock;
  log?: Logger;
  /** Registers the security / Mixer generator plugins. */
  registerPlugins?: (plugins: PluginRegistry, hooks: PluginHooks) => void;
  /** Folder poll interval (ms); 0 = rely on the watcher. */
  pollMs?: number;
}

/** What plugins may use from the running Pilot (e.g. the JWKS cache pushes when keys change). */
export interface PluginHooks {
  clock: Clock;
  log: Logger;
  /** Asks for a debounced full push. */
  requestPush(reason: string): void;
  /** Runs `fn` when Pilot stops. */
  onStop(fn: () => void): void;
}

export interface RunningPilot {
  grpcAddress: string;
  httpAddress: string;
  store: ConfigStore;
  discovery: Discovery;
  xds: XdsServer;
  metrics: PilotMetrics;
  plugins: PluginRegistry;
  stop(): Promise<void>;
}

function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i) || '0.0.0.0', port: Number(addr.slice(i + 1)) };
}

export async function startPilot(o: PilotOptions): Promise<RunningPilot> {
  const log = o.log ?? silentLogger();
  const clock = o.clock ?? systemClock;
  const domainSuffix = o.domainSuffix ?? 'cluster.local';
  const mesh = {
    ...(o.meshConfig ? loadMeshSettings(o.meshConfig, domainSuffix) : defaultMeshSettings(domainSuffix)),
    ...o.mesh,
  };
  if (!o.configDir && !o.kube) throw pilotErrors.error('PILOT_ERR_NO_REGISTRY');
  const store = new ConfigStore();
  const metrics = createPilotMetrics();
  const plugins = new PluginRegistry();
  const stopHooks: (() => void)[] = [];
  let requestPush: (reason: string) => void = () => undefined;
  o.registerPlugins?.(plugins, {
    clock,
    log,
    requestPush: (reason) => requestPush(reason),
    onStop: (fn) => stopHooks.push(fn),
  });

  let ready = false;
  const folder = o.configDir
    ? new FolderRegistry({ dir: o.configDir, store, log, clock, pollMs: o.pollMs })
    : undefined;
  const kube = o.kube ? new KubeRegistry({ store, log, kubeConfig: o.kubeConfig }) : undefined;
  await folder?.start();
  const discovery = new Discovery({
    store,
    mesh,
    metrics,
    clock,
    log,
    debounceAfterMs: o.debounceAfterMs,
    debounceMaxMs: o.debounceMaxMs,
  });
  discovery.start();
  requestPush = (reason) => discovery.requestPush(reason);
  const xds = new XdsServer({
    context: () => discovery.context(),
    plugins,
    metrics,
    log,
    clock,
    domainSuffix,
    maxRequestBytes: o.maxRequestBytes,
  });
  discovery.onPush((req) => xds.push(req));
  if (kube) await kube.start();
  discovery.flush();
  ready = true;

  const g = splitAddr(o.grpcAddr);
  const grpcPort = await xds.listen(`${g.host}:${g.port}`);
  const grpcAddress = `${g.host === '0.0.0.0' ? '127.0.0.1' : g.host}:${grpcPort}`;
  log.info({ listener: 'grpc', address: grpcAddress }, 'listening');

  const http = createDebugServer({ store, discovery, xds, metrics, plugins, ready: () => ready });
  const h = splitAddr(o.httpAddr);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(h.port, h.host, () => resolve());
  });
  const hp = (http.address() as AddressInfo).port;
  const httpAddress = `${h.host === '0.0.0.0' ? '127.0.0.1' : h.host}:${hp}`;
  log.info({ listener: 'http', address: httpAddress }, 'listening');

  return {
    grpcAddress,
    httpAddress,
    store,
    discovery,
    xds,
    metrics,
    plugins,
    async stop() {
      ready = false;
      folder?.stop();
      kube?.stop();
      discovery.stop();
      for (const fn of stopHooks) fn();
      await xds.close();
      await new Promise<void>((resolve) => {
        http.closeAllConnections?.();
        http.close(() => resolve());
      });
    },
  };
}

export { createLogger };
