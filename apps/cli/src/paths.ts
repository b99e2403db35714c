/** Where the local launcher keeps its state (`.tsmesh/` under the working directory by default). */
import { join, resolve } from 'node:path';

export interface StatePaths {
  root: string;
  /** Pilot's --config-dir: the registry (Services/Endpoints/Pods) and applied Istio config. */
  configDir: string;
  /** Mixer's --config-dir: applied config.istio.io objects (rules, handlers, instances, QuotaSpecs). */
  mixerConfigDir: string;
  /** Pilot's --mesh-config (generated when Mixer runs). */
  meshConfigFile: string;
  /** Applied Deployments (env overrides the supervisor restarts pods with). */
  workloadsDir: string;
  logsDir: string;
  stateFile: string;
  tokensFile: string;
  citadelDir: string;
  /** Data of local stand-ins (the shop's PGlite database), kept across `down`/`up`. */
  dataDir: string;
}

export function statePaths(stateDir = '.tsmesh'): StatePaths {
  const root = resolve(stateDir);
  return {
    root,
    configDir: join(root, 'config'),
    mixerConfigDir: join(root, 'mixer-config'),
    meshConfigFile: join(root, 'mesh.yaml'),
    workloadsDir: join(root, 'workloads'),
    logsDir: join(root, 'logs'),
    stateFile: join(root, 'state.json'),
    tokensFile: join(root, 'bootstrap-tokens'),
    citadelDir: join(root, 'citadel'),
    dataDir: join(root, 'data'),
  };
}
