/**
 * `tsmesh validate|apply|delete -f FILE`: validation with @tsmesh/mesh-config
 * (every problem names file, line, object and field); apply writes one file per
 * object into the watched config folder (same name replaces, like kubectl
 * apply), only when the whole file is valid; delete removes those objects.
 * Workload kinds (Deployment) go to the launcher's workloads folder, where the
 * supervisor picks up env changes and restarts the pod.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { formatConfigError, loadFile, validateAll, type ConfigError, type ConfigObject } from '@tsmesh/mesh-config';

export interface CheckResult {
  objects: ConfigObject[];
  errors: ConfigError[];
  warnings: ConfigError[];
}

export interface ConfigDirs {
  configDir: string;
  workloadsDir: string;
  /** Where config.istio.io objects (Mixer's) go; defaults to configDir. */
  mixerConfigDir?: string;
}

/** config.istio.io kinds Pilot reads too: it builds the proxy's quota_spec from them. */
export const PILOT_AND_MIXER_KINDS = new Set(['QuotaSpec', 'QuotaSpecBinding', 'HTTPAPISpec', 'HTTPAPISpecBinding']);

/** Which folders an object belongs in: workloads, Mixer's config, Pilot's (QuotaSpecs: both). */
function dirsFor(o: Pick<ConfigObject, 'kind' | 'apiVersion'>, dirs: ConfigDirs): string[] {
  if (WORKLOAD_KINDS.has(o.kind)) return [dirs.workloadsDir];
  if (o.apiVersion.startsWith('config.istio.io/') && dirs.mixerConfigDir)
    return PILOT_AND_MIXER_KINDS.has(o.kind) ? [dirs.mixerConfigDir, dirs.configDir] : [dirs.mixerConfigDir];
  return [dirs.configDir];
}

export const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

export function checkFile(file: string): CheckResult {
  const loaded = loadFile(file);
  const res = validateAll(loaded.objects);
  const all = [...loaded.errors, ...res.errors];
  return {
    objects: loaded.objects,
    errors: all.filter((e) => e.severity === 'error'),
    warnings: all.filter((e) => e.severity !== 'error'),
  };
}

export function objectFileName(o: Pick<ConfigObject, 'kind' | 'metadata'>): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');
  return `${safe(o.kind)}.${safe(o.metadata.namespace || '_cluster')}.${safe(o.metadata.name)}.yaml`;
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** What the object looked like in its file (apiVersion/kind/metadata/spec as written). */
function asWritten(o: ConfigObject): unknown {
  return o.raw ?? { apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata, spec: o.spec };
}

export interface ApplyOutcome {
  ok: boolean;
  lines: string[];
}

export function applyFile(file: string, dirs: ConfigDirs): ApplyOutcome {
  const r = checkFile(file);
  const lines = r.warnings.map(formatConfigError);
  if (r.errors.length > 0) {
    return {
      ok: false,
      lines: [
        ...r.errors.map(formatConfigError),
        ...lines,
        `${r.errors.length} problem(s) in ${file}; nothing was written`,
      ],
    };
  }
  if (r.objects.length === 0) return { ok: false, lines: [`${file} holds no objects; nothing was written`] };
  for (const d of [dirs.configDir, dirs.workloadsDir, dirs.mixerConfigDir]) if (d) mkdirSync(d, { recursive: true });
  for (const o of r.objects) {
    const targets = dirsFor(o, dirs).map((d) => join(d, objectFileName(o)));
    const existed = existsSync(targets[0]);
    for (const t of targets) writeAtomic(t, stringify(asWritten(o)));
    lines.push(`${o.kind.toLowerCase()}/${o.metadata.name} ${existed ? 'configured' : 'created'}`);
  }
  return { ok: true, lines };
}

export function deleteFile(file: string, dirs: ConfigDirs): ApplyOutcome {
  const loaded = loadFile(file);
  if (loaded.errors.length) return { ok: false, lines: loaded.errors.map(formatConfigError) };
  const lines: string[] = [];
  let ok = true;
  for (const o of loaded.objects) {
    const targets = dirsFor(o, dirs).map((d) => join(d, objectFileName(o)));
    if (existsSync(targets[0])) {
      for (const t of targets) rmSync(t, { force: true });
      lines.push(`${o.kind.toLowerCase()}/${o.metadata.name} deleted`);
    } else {
      ok = false;
      lines.push(`${o.kind.toLowerCase()}/${o.metadata.name} not found`);
    }
  }
  return { ok, lines };
}

export function listConfig(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .sort()
    : [];
}
