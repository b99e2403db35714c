/**
 * Folder registry: a directory of YAML (Istio config and Kubernetes-format
 * Service/Endpoints/Pod objects) kept in the config store. `sync()` rescans;
 * a file watcher (and a slow poll as a safety net) call it on changes.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, systemClock, type Clock, type Logger, type TimerHandle } from '@tsmesh/core';
import type { ConfigStore } from '@tsmesh/mesh-config';
import { pilotErrors } from '../../errors';
import { applyFile } from '../apply';

export interface FolderRegistryOptions {
  dir: string;
  store: ConfigStore;
  log?: Logger;
  clock?: Clock;
  /** Poll interval as a safety net for missed watch events; 0 disables polling. */
  pollMs?: number;
  /**
   * Quiet time after a watch event before reading, so a file caught mid-write
   * (truncated, then written) is not read empty and its objects deleted.
   */
  settleMs?: number;
}

const YAML_FILE = /\.(ya?ml|json)$/i;

export class FolderRegistry {
  private readonly known = new Map<string, string>();
  private watcher?: FSWatcher;
  private poll?: TimerHandle;
  private settleTimer?: TimerHandle;
  private syncing: Promise<void> = Promise.resolve();
  private dirty = false;
  private readonly log: Logger;

  constructor(private readonly opts: FolderRegistryOptions) {
    this.log = opts.log ?? silentLogger();
  }

  /** Loads the directory once and starts watching it. */
  async start(): Promise<void> {
    try {
      const s = await stat(this.opts.dir);
      if (!s.isDirectory()) throw new Error('not a directory');
    } catch (e) {
      throw pilotErrors.error('PILOT_ERR_CONFIG_DIR', { dir: this.opts.dir, detail: (e as Error).message });
    }
    await this.sync();
    try {
      this.watcher = watch(this.opts.dir, { recursive: true }, () => this.settle());
      this.watcher.on('error', () => undefined);
    } catch {
      // recursive watch unsupported: the poll below covers it
    }
    const pollMs = this.opts.pollMs ?? 1000;
    if (pollMs > 0) this.poll = (this.opts.clock ?? systemClock).setInterval(() => this.schedule(), pollMs);
  }

  stop(): void {
    this.watcher?.close();
    this.poll?.cancel();
    this.settleTimer?.cancel();
  }

  private settle(): void {
    this.settleTimer?.cancel();
    this.settleTimer = (this.opts.clock ?? systemClock).setTimeout(() => this.schedule(), this.opts.settleMs ?? 50);
  }

  private schedule(): void {
    if (this.dirty) return;
    this.dirty = true;
    this.syncing = this.syncing.then(async () => {
      this.dirty = false;
      await this.sync().catch((e) => this.log.warn({ err: String(e) }, 'folder sync failed'));
    });
  }

  /** Rescans the directory and applies changed, new and removed files. */
  async sync(): Promise<void> {
    const files = await listFiles(this.opts.dir);
    const present = new Set(files);
    for (const f of files) {
      let text: string;
      try {
        text = await readFile(f, 'utf8');
      } catch {
        continue;
      }
      if (this.known.get(f) === text) continue;
      this.known.set(f, text);
      const r = applyFile(this.opts.store, f, text, this.log);
      this.log.info({ file: f, ...r }, 'config file loaded');
    }
    for (const f of [...this.known.keys()]) {
      if (present.has(f)) continue;
      this.known.delete(f);
      applyFile(this.opts.store, f, null, this.log);
      this.log.info({ file: f }, 'config file removed');
    }
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (YAML_FILE.test(e.name)) out.push(p);
  }
  return out.sort();
}
