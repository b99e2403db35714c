/**
 * Loads builtin + folder + Kubernetes config into the runtime and re-applies it
 * when the folder changes (polled by fingerprint) or a watched CRD object is
 * added, changed or deleted (debounced). Every rejected object is logged with
 * MIXER_ERR_INVALID_CONFIG and its field errors; the rest keeps serving.
 */
import { existsSync } from 'node:fs';
import type { Clock, Logger, TimerHandle } from '@tsmesh/core';
import { mixerErrors } from '../errors';
import type { Runtime } from '../runtime/runtime';
import { BUILTIN_CONFIG_YAML } from './builtin';
import { BUILTIN_ACCESS_LOG_YAML } from './builtin-accesslog';
import { dirFingerprint, loadConfigDir, parseConfigText, type LoadProblem, type RawObject } from './loader';
import type { KubeConfigSource } from './kube-source';
import type { ConfigIssue } from './snapshot';

export interface WatcherOptions {
  dir: string;
  builtin: boolean;
  /** Also the default access log (only with `builtin`). */
  accessLog?: boolean;
  pollMs: number;
  /** Config from Kubernetes CRDs (`--kube`), merged after the folder's. */
  kube?: KubeConfigSource;
  /** Quiet time after a Kubernetes event before the config is rebuilt (ms, default 50). */
  kubeDebounceMs?: number;
  clock: Clock;
  logger: Logger;
}

export class ConfigWatcher {
  private fingerprint = '';
  private timer: TimerHandle | null = null;
  private busy = false;
  /** A Kubernetes change arrived while a reload ran: reload again when it ends. */
  private again = false;
  private debounce: TimerHandle | null = null;
  issues: ConfigIssue[] = [];
  problems: LoadProblem[] = [];

  constructor(
    private readonly runtime: Runtime,
    private readonly opts: WatcherOptions,
  ) {
    if (opts.dir && !existsSync(opts.dir))
      throw mixerErrors.error('MIXER_ERR_CONFIG_DIR', { dir: opts.dir, why: 'no such folder' });
  }

  async start(): Promise<void> {
    // the first list of every watched kind is part of the first snapshot
    await this.opts.kube?.start();
    await this.reload(true);
    if (this.opts.dir) this.timer = this.opts.clock.setInterval(() => void this.reload(false), this.opts.pollMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.debounce?.cancel();
    this.opts.kube?.stop();
  }

  /** The Kubernetes source saw a change: rebuild once things are quiet for a moment. */
  kubeChanged(): void {
    this.debounce?.cancel();
    this.debounce = this.opts.clock.setTimeout(() => {
      this.debounce = null;
      void this.reload(true);
    }, this.opts.kubeDebounceMs ?? 50);
  }

  /** Re-reads the folder; returns true when a new snapshot was applied. */
  async reload(force: boolean): Promise<boolean> {
    if (this.busy) {
      if (force) this.again = true;
      return false;
    }
    this.busy = true;
    try {
      let fp = '';
      if (this.opts.dir) {
        try {
          fp = dirFingerprint(this.opts.dir);
        } catch (e) {
          const err = mixerErrors.error('MIXER_ERR_CONFIG_DIR', { dir: this.opts.dir, why: (e as Error).message });
          if (force) throw err;
          this.opts.logger.warn({ code: err.code }, err.message);
          return false;
        }
        // checked before anything is parsed: this runs every poll interval
        if (!force && fp === this.fingerprint) return false;
      }
      let objects: RawObject[] = [];
      const problems: LoadProblem[] = [];
      if (this.opts.builtin) objects.push(...parseConfigText(BUILTIN_CONFIG_YAML, '<builtin>', 'istio-system').objects);
      if (this.opts.builtin && this.opts.accessLog)
        objects.push(...parseConfigText(BUILTIN_ACCESS_LOG_YAML, '<builtin-accesslog>', 'istio-system').objects);
      if (this.opts.dir) {
        try {
          const loaded = loadConfigDir(this.opts.dir);
          objects = [...objects, ...loaded.objects];
          problems.push(...loaded.problems);
        } catch (e) {
          const err = mixerErrors.error('MIXER_ERR_CONFIG_DIR', { dir: this.opts.dir, why: (e as Error).message });
          if (force) throw err;
          this.opts.logger.warn({ code: err.code }, err.message);
          return false;
        }
      }
      if (this.opts.kube) {
        objects = [...objects, ...this.opts.kube.list()];
        for (const m of this.opts.kube.malformed.values()) problems.push({ file: m.file, line: 0, message: m.message });
      }
      this.fingerprint = fp;
      this.problems = problems;
      for (const p of problems)
        this.opts.logger.warn({ code: 'MIXER_ERR_INVALID_CONFIG', file: p.file, line: p.line }, p.message);
      this.issues = await this.runtime.apply(objects);
      for (const i of this.issues) {
        const err = mixerErrors.error('MIXER_ERR_INVALID_CONFIG', { ...i }, i.errors);
        this.opts.logger.warn({ code: err.code, file: i.file, line: i.line, fieldErrors: i.errors }, err.message);
      }
      const snap = this.runtime.current;
      this.opts.logger.info(
        {
          rules: snap?.rules.length,
          handlers: snap?.handlers.size,
          instances: snap?.instances.size,
          rejected: this.issues.length,
        },
        'config applied',
      );
      return true;
    } finally {
      this.busy = false;
      if (this.again) {
        this.again = false;
        void this.reload(true);
      }
    }
  }
}
