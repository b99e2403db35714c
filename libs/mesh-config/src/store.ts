import { ensureBuiltinKinds } from './builtin-kinds';
import { crossObjectWarnings } from './cross-checks';
import { toConfigError, validateAll } from './validate';
import { key, makeKey, type ConfigError, type ConfigKey, type ConfigObject } from './types/object';

export interface ApplyResult {
  /** Normalized objects now in the store (changed or not). */
  applied: ConfigObject[];
  /** Keys whose stored version actually changed (new, or different content). */
  changed: ConfigKey[];
  /** Errors of refused objects; the last good version of each (if any) stays. */
  rejected: ConfigError[];
  warnings: ConfigError[];
}

export interface ChangeEvent {
  revision: number;
  keys: ConfigKey[];
  kinds: string[];
}

export type ChangeListener = (event: ChangeEvent) => void;

/**
 * In-memory config store keyed by `Kind/namespace/name`, shared by Pilot and
 * Mixer. Every write is validated; a bad object is refused and the last good
 * version stays (Istio's "bad config never replaces good config").
 */
export class ConfigStore {
  private readonly objects = new Map<ConfigKey, ConfigObject>();
  private readonly rejections = new Map<ConfigKey, ConfigError[]>();
  private readonly listeners = new Set<ChangeListener>();
  private rev = 0;

  constructor() {
    ensureBuiltinKinds();
  }

  /** Incremented once per apply/delete that changed something. */
  get revision(): number {
    return this.rev;
  }

  apply(objects: ConfigObject[]): ApplyResult {
    const res = validateAll(objects, this.list());
    const result: ApplyResult = { applied: [], changed: [], rejected: [], warnings: [] };
    objects.forEach((input, i) => {
      const r = res.results[i];
      const k = key(input);
      if (!r.object) {
        const errs = res.errors.filter(
          (e) => e.severity === 'error' && e.kind === input.kind && e.name === input.metadata?.name && sameNs(e, input),
        );
        this.rejections.set(k, errs);
        result.rejected.push(...errs);
        return;
      }
      this.rejections.delete(k);
      const prev = this.objects.get(k);
      result.applied.push(r.object);
      if (prev && fingerprint(prev) === fingerprint(r.object)) return;
      this.objects.set(k, r.object);
      if (!result.changed.includes(k)) result.changed.push(k);
    });
    result.warnings = res.errors.filter((e) => e.severity === 'warning');
    if (result.changed.length > 0) {
      // Objects that did not come with a resourceVersion (files) get the store revision they were written at.
      for (const k of result.changed) {
        const o = this.objects.get(k);
        if (o && !o.metadata.resourceVersion) o.metadata = { ...o.metadata, resourceVersion: String(this.rev + 1) };
      }
      this.bump(result.changed);
    }
    return result;
  }

  /** Removes objects (and their rejection records); returns the keys that existed. */
  delete(keys: ConfigKey[]): ConfigKey[] {
    const removed: ConfigKey[] = [];
    for (const k of keys) {
      this.rejections.delete(k);
      if (this.objects.delete(k)) removed.push(k);
    }
    if (removed.length > 0) this.bump(removed);
    return removed;
  }

  /**
   * Makes the store hold exactly `objects` among the entries selected by
   * `owns` (e.g. those loaded from one folder): applies them and deletes owned
   * entries no longer present. Rejected objects keep their last good version.
   */
  replace(objects: ConfigObject[], owns: (obj: ConfigObject) => boolean = () => true): ApplyResult {
    const present = new Set(objects.map((o) => key(o)));
    const stale = this.list()
      .filter((o) => owns(o) && !present.has(key(o)))
      .map((o) => key(o));
    const result = this.apply(objects);
    this.delete(stale);
    return result;
  }

  list(kind?: string): ConfigObject[] {
    const all = [...this.objects.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
    return kind === undefined ? all : all.filter((o) => o.kind === kind);
  }

  get<Spec = unknown>(kind: string, namespace: string, name: string): ConfigObject<Spec> | undefined {
    return this.objects.get(makeKey(kind, namespace, name)) as ConfigObject<Spec> | undefined;
  }

  /** Current errors of each refused object, for `/debug/configz`. */
  rejected(): { key: ConfigKey; errors: ConfigError[] }[] {
    return [...this.rejections.entries()].map(([k, errors]) => ({ key: k, errors }));
  }

  /** Cross-object warnings over everything stored now (e.g. subsets whose DestinationRule was deleted). */
  warnings(): ConfigError[] {
    const all = this.list();
    return crossObjectWarnings(all, all).map((w) => toConfigError(w.object, w.issue, 'warning'));
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private bump(keys: ConfigKey[]): void {
    this.rev += 1;
    const event: ChangeEvent = {
      revision: this.rev,
      keys,
      kinds: [...new Set(keys.map((k) => k.slice(0, k.indexOf('/'))))],
    };
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A failing listener must not stop the others or the write.
      }
    }
  }
}

function sameNs(e: ConfigError, o: ConfigObject): boolean {
  return (e.namespace ?? '') === (o.metadata?.namespace ?? '');
}

function fingerprint(o: ConfigObject): string {
  return JSON.stringify([o.apiVersion, o.metadata.labels, o.metadata.annotations, o.spec, o.status ?? null]);
}
